/**
 * A TCP proxy on a free loopback port, for tests that drop connections: clients connect to the
 * proxy, `cut(ms)` destroys every open connection and refuses new ones for `ms`, as a network
 * partition or a restarted server would. Only the test's own connections are affected.
 *
 *   const proxy = await startTcpProxy('127.0.0.1', 6379);
 *   const url = `redis://127.0.0.1:${proxy.port}`;
 *   await proxy.cut(2000);
 */
import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  /** Drops every connection and refuses new ones for `ms`. */
  cut(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let count = 0;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    count++;
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    get connections() {
      return count;
    },
    cut: async (ms) => {
      refusing = true;
      for (const s of open) s.destroy();
      await new Promise((r) => setTimeout(r, ms));
      refusing = false;
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
