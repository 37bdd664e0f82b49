/**
 * The HTTP side of a process's metrics: GET /metrics (Prometheus text: the job metrics, Redis
 * reachability and BullMQ's queue depth) and GET /healthz (200 with JSON while the process is
 * connected and serving, 503 otherwise — what a liveness or readiness probe wants).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge } from 'prom-client';
import type { JobMetrics } from './job-metrics.ts';
import type { QueueDepth } from './queue-depth.ts';

export interface Health {
  ok: boolean;
  /** ioredis' status of the connection: ready, connecting, reconnecting, end, … */
  redis: string;
  queues: readonly string[];
  /** Seconds since the process started. */
  uptime: number;
  [more: string]: unknown;
}

export interface MetricsServer {
  /** http://HOST:PORT, for messages. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ServeOptions {
  port: number;
  /** Interface to listen on. Default: 0.0.0.0 (Prometheus scrapes from elsewhere). */
  host?: string;
  jobs: JobMetrics;
  depth: QueueDepth;
  /** Besides a ready Redis connection, whether the process serves (e.g. its workers run). Default: always. */
  serving?: () => boolean;
  /** Fields added to /healthz (e.g. the worker's name). */
  details?: Record<string, unknown>;
}

export async function serveMetrics(o: ServeOptions): Promise<MetricsServer> {
  new Gauge({
    name: 'pmamba_redis_up',
    help: '1 while the connection to Redis is ready, else 0',
    registers: [o.jobs.registry],
    collect() {
      this.set(o.depth.status === 'ready' ? 1 : 0);
    },
  });
  const health = (): Health => {
    const redis = o.depth.status;
    return { ok: redis === 'ready' && (o.serving?.() ?? true), redis, queues: o.depth.names, uptime: Math.round(process.uptime()), ...o.details };
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      const [own, depth] = await Promise.all([o.jobs.registry.metrics(), o.depth.exposition()]);
      res.writeHead(200, { 'content-type': o.jobs.registry.contentType }).end(`${own.endsWith('\n') ? own : `${own}\n`}${depth ?? ''}`);
    } else if (path === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(h)}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`metrics failed: ${err.message}\n`);
    });
  });
  const host = o.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
