/**
 * A real Redis Cluster for tests: `nodes` redis-server processes (masters, no replicas) on free
 * loopback ports, without persistence, their cluster config and data in a temporary folder,
 * joined with `redis-cli --cluster create` and ready once every node reports cluster_state:ok.
 * With a password, every node requires it (given on stdin, not on a command line).
 *
 *   const cluster = await startRedisCluster({ password: 'pw' });
 *   cluster.url   // redis+cluster://:pw@127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
 *   await cluster.stop();
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RedisCluster {
  /** redis+cluster://[:password@]127.0.0.1:P1,… */
  url: string;
  ports: number[];
  /** Runs redis-cli against one node (with the password, by environment). */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Free loopback ports, all distinct (the listeners stay open until every port is chosen). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function startRedisCluster(o: { nodes?: number; password?: string; timeoutMs?: number } = {}): Promise<RedisCluster> {
  const count = o.nodes ?? 3;
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-redis-cluster-'));
  // A client port and a cluster bus port per node (the bus defaults to port + 10000, which may be taken or out of range).
  const all = await freePorts(2 * count);
  const ports = all.slice(0, count);
  const busPorts = all.slice(count);
  const children: ChildProcess[] = [];
  const env = { ...process.env, ...(o.password ? { REDISCLI_AUTH: o.password } : {}) };
  const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { env })).stdout;
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, port] of ports.entries()) {
      // `redis-server -` reads the config from stdin.
      const child = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('exit', (code, signal) => {
        if (code !== null && code !== 0) process.stderr.write(`redis-server :${port} exited (${code ?? signal}): ${stderr.slice(-400)}\n`);
      });
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(
        [
          `port ${port}`,
          `cluster-port ${busPorts[i]}`,
          'bind 127.0.0.1',
          'cluster-enabled yes',
          `cluster-config-file ${join(dir, `nodes-${port}.conf`)}`,
          `dir ${dir}`,
          'save ""',
          'appendonly no',
          'daemonize no',
          ...(o.password ? [`requirepass ${o.password}`, `masterauth ${o.password}`] : []),
          '',
        ].join('\n'),
      );
    }
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    const until = async (what: string, probe: () => Promise<boolean>) => {
      for (;;) {
        if (await probe().catch(() => false)) return;
        if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    for (const port of ports) await until(`node ${port} to answer`, async () => (await cli(port, 'PING')).trim() === 'PONG');
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { env });
    for (const port of ports) await until(`cluster_state:ok on ${port}`, async () => /cluster_state:ok/.test(await cli(port, 'CLUSTER', 'INFO')));
  } catch (err) {
    await stop();
    throw err;
  }
  const auth = o.password ? `:${encodeURIComponent(o.password)}@` : '';
  return { url: `redis+cluster://${auth}${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, cli, stop };
}
