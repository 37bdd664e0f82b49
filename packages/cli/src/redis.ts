/**
 * The Redis a command uses: `--redis URL`, else REDIS_URL, else the config's redis.url, else —
 * for commands that may — a private `redis-server` on a free loopback port, without persistence,
 * stopped when the command exits. The private server has a random password, given to it on its
 * stdin (not its command line, which `ps` shows to every local user), and runs in a process
 * group of its own, so a Ctrl-C reaches only the command, which stops it last. A URL that does
 * not answer fails in seconds with what to do, instead of ioredis retrying forever in silence.
 *
 * A Redis Cluster is named by a redis+cluster:// URL (@pmamba/protocol's connection.ts); its
 * queues then share one ioredis Cluster (redis-client.ts), closed by `stop`, and the prefix must
 * be hash-tagged — checked before anything connects. A redis:// URL of one node of a cluster is
 * refused: it would reach only the keys of that node's slots.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { checkClusterPrefix, isClusterUrl, parseRedisUrl, redisConnectionFromUrl } from '@pmamba/protocol';
import { CliError } from './errors.ts';
import { closeQueueConnection, queueConnection, redisClient, type QueueConnection } from './redis-client.ts';

export interface RedisService {
  /** The URL with its password, for connections; never print it. */
  url: string;
  /** The URL with the password masked, for logs and messages. */
  shownUrl: string;
  /** BullMQ's `connection`: one node's options, or (redis+cluster://) an ioredis Cluster that `stop` closes. */
  connection: QueueConnection;
  /** True when this process started the server (and stops it in `stop`). */
  private: boolean;
  stop(): Promise<void>;
}

const HOW_TO_GET_REDIS =
  'pass --redis redis://HOST:PORT or set REDIS_URL, or install redis-server so pmamba can start a private one ' +
  '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis; Docker: docker run -d -p 6379:6379 redis:7)';

/** A prefix as a shell word for printed commands: quoted when it has braces ({pmamba}) or other special characters. */
export function shellPrefix(prefix: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(prefix) ? prefix : `'${prefix.replace(/'/g, `'\\''`)}'`;
}

/** The URL with its password (if any) masked. */
export function shownRedisUrl(url: string): string {
  return url.replace(/\/\/([^/]*)@/, '//***@');
}

/**
 * Connects once and sends PING; E_REDIS_UNREACHABLE after `timeoutMs`. A cluster URL connects
 * to the cluster (its nodes and slots), and a redis:// URL that reaches a node of a cluster
 * fails with E_REDIS_CLUSTER.
 */
export async function pingRedis(url: string, timeoutMs = 5000): Promise<void> {
  const parsed = parseRedisUrl(url);
  const cluster = isClusterUrl(parsed);
  const client = cluster
    ? redisClient(
        parsed,
        { connectTimeout: timeoutMs, maxRetriesPerRequest: 0 },
        { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => null, slotsRefreshTimeout: timeoutMs },
      )
    : redisClient(parsed, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The socket's error (ECONNREFUSED, ENOTFOUND, …) says more than connect()'s "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (err: Error & { lastNodeError?: Error }) => (cause ??= err.lastNodeError ?? err));
  let timer: NodeJS.Timeout | undefined;
  try {
    try {
      const answered = client.connect().then(() => client.ping());
      if (cluster) {
        // A cluster client has no connect timeout of its own across nodes and slot refreshes.
        const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs * 2} ms`)), timeoutMs * 2)));
        await Promise.race([answered, late]);
      } else {
        await answered;
      }
    } catch (err) {
      let why = (cause ?? (err as Error)).message;
      // ioredis' cluster client hides the nodes' socket errors behind "Connection is closed.".
      if (cluster && /None of startup nodes/i.test((err as Error).message)) why = `none of its nodes answered (${why})`;
      throw new CliError(`cannot reach Redis at ${shownRedisUrl(url)}: ${why}; start it or fix the URL (${HOW_TO_GET_REDIS})`, 'E_REDIS_UNREACHABLE');
    }
    if (!cluster && /^cluster_enabled:1\b/m.test(await client.info('cluster').catch(() => ''))) {
      throw new CliError(
        `${shownRedisUrl(url)} is a node of a Redis Cluster, and a redis:// URL reaches only the keys of its own slots: ` +
          `name the cluster as redis+cluster://[user:password@]HOST:PORT[,HOST:PORT…] (rediss+cluster:// for TLS), with a hash-tagged --prefix such as '{pmamba}'`,
        'E_REDIS_CLUSTER',
      );
    }
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` on a free loopback port; E_REDIS_MISSING says how to get Redis when the binary is absent. */
export async function startPrivateRedis(binary = 'redis-server'): Promise<RedisService> {
  const port = await freePort();
  const password = randomBytes(24).toString('hex');
  // `redis-server -` reads its config from stdin: the password never appears in `ps`.
  const child: ChildProcess = spawn(binary, ['-'], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  child.stdin?.on('error', () => undefined); // a binary that exits at once closes the pipe; its exit says why
  child.stdin?.end(
    [`port ${port}`, 'bind 127.0.0.1', `requirepass ${password}`, 'save ""', 'appendonly no', 'daemonize no', ''].join('\n'),
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new CliError(`no Redis URL given and no ${binary} on PATH: ${HOW_TO_GET_REDIS}`, 'E_REDIS_MISSING') : err),
    );
    void exited.then((why) => reject(new CliError(`${binary} exited (${why}) before accepting connections: ${stderr.trim().slice(-400)}`, 'E_REDIS_START')));
  });
  const url = `redis://:${password}@127.0.0.1:${port}`;
  // Kill it with this process even on process.exit(); a SIGKILL of this process cannot be caught.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await Promise.race([pingRedis(url, 500), failed]);
      break;
    } catch (err) {
      if (!(err instanceof CliError) || err.code !== 'E_REDIS_UNREACHABLE' || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  failed.catch(() => undefined);
  return {
    url,
    shownUrl: shownRedisUrl(url),
    connection: redisConnectionFromUrl(url),
    private: true,
    stop: async () => {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/**
 * The Redis of a command: the first URL given, checked with a PING; otherwise a private server
 * when `allowPrivate`, else E_REDIS_MISSING. With a cluster URL, `prefix` must be hash-tagged
 * (E_REDIS_PREFIX, before connecting).
 */
export async function resolveRedis(urls: readonly (string | undefined)[], options: { allowPrivate: boolean; prefix: string }): Promise<RedisService> {
  const url = urls.find((u) => u !== undefined && u !== '');
  if (url !== undefined) {
    const parsed = parseRedisUrl(url);
    if (isClusterUrl(parsed)) checkClusterPrefix(options.prefix);
    await pingRedis(url);
    const connection = queueConnection(parsed);
    return { url, shownUrl: shownRedisUrl(url), connection, private: false, stop: () => closeQueueConnection(connection) };
  }
  if (!options.allowPrivate) throw new CliError(`no Redis URL given: ${HOW_TO_GET_REDIS}`, 'E_REDIS_MISSING');
  return startPrivateRedis();
}

/**
 * E_REDIS_PREFIX now, before a run is planned, when the Redis the command will use (the first
 * of `urls`) is a cluster and `prefix` has no hash tag; resolveRedis checks again.
 */
export function checkRedisPrefix(urls: readonly (string | undefined)[], prefix: string): void {
  const url = urls.find((u) => u !== undefined && u !== '');
  if (url !== undefined && isClusterUrl(parseRedisUrl(url))) checkClusterPrefix(prefix);
}
