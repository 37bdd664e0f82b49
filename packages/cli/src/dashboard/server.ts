/**
 * The dashboard: bull-board (its Express adapter) over every queue of a BullMQ prefix — the
 * run queues (QUEUE_NAMES) and the scheduler's `schedule` — on one Redis connection.
 * Read-only unless asked: retrying, removing or cleaning jobs under a live coordinator is a
 * decision, not a click; `writable` turns bull-board's actions on.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express from 'express';
import { QUEUE_NAMES, SCHEDULE_QUEUE } from '@pmamba/protocol';
import { ownClient, type QueueConnection } from '../redis-client.ts';
import { basicAuth, type Credentials } from './basic-auth.ts';

/** Every queue pmamba uses under a prefix. */
export const DASHBOARD_QUEUES: readonly string[] = [...Object.values(QUEUE_NAMES), SCHEDULE_QUEUE];

export interface DashboardOptions {
  /** One node's options, or a Cluster (duplicated: the dashboard closes only its own connections). */
  connection: QueueConnection;
  prefix: string;
  port: number;
  host: string;
  auth?: Credentials;
  /** Allow bull-board's actions (retry, remove, clean, pause, …). Default: read-only. */
  writable?: boolean;
}

export interface Dashboard {
  /** http://HOST:PORT/ — never with credentials in it. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const client = ownClient(o.connection, null);
  client.on('error', () => undefined); // bull-board shows a failing Redis on its pages
  const queues = DASHBOARD_QUEUES.map((name) => new Queue(name, { connection: client, prefix: o.prefix }));
  for (const q of queues) q.on('error', () => undefined);

  const board = new ExpressAdapter();
  board.setBasePath('/');
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !o.writable, allowRetries: o.writable === true })),
    // @bull-board/express 9.10.1 carries its own @bull-board/api 9.10.1 (ours is 9.10.2): the same
    // interface under two declarations, which TypeScript will not equate.
    serverAdapter: board as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: `pmamba · ${o.prefix}` } },
  });
  const app = express();
  app.disable('x-powered-by');
  if (o.auth) app.use(basicAuth(o.auth));
  app.use('/', board.getRouter());

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(o.port, o.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = o.host === '0.0.0.0' || o.host === '::' ? 'localhost' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(queues.map((q) => q.close()));
      client.disconnect();
    },
  };
}
