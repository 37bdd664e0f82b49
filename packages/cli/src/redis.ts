/**
 * The Redis a command uses: `--redis URL`, else REDIS_URL, else the config's redis.url, else —
 * for commands that may — a private `redis-server` on a free loopback port, without persistence,
 * stopped when the command exits. The private server has a random password, given to it on its
 * stdin (not its command line, which `ps` shows to every local user), and runs in a process
 * group of its own, so a Ctrl-C reaches only the command, which stops it last. A URL that does
 * not answer fails in seconds with what to do, instead of ioredis retrying forever in silence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { redisConnectionFromUrl, type RedisConnectionOptions } from '@pmamba/protocol';
import { CliError } from './errors.ts';

export interface RedisService {
  /** The URL with its password, for connections; never print it. */
  url: string;
  /** The URL with the password masked, for logs and messages. */
  shownUrl: string;
  connection: RedisConnectionOptions;
  /** True when this process started the server (and stops it in `stop`). */
  private: boolean;
  stop(): Promise<void>;
}

const HOW_TO_GET_REDIS =
  'pass --redis redis://HOST:PORT or set REDIS_URL, or install redis-server so pmamba can start a private one ' +
  '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis; Docker: docker run -d -p 6379:6379 redis:7)';

/** The URL with its password (if any) masked. */
export function shownRedisUrl(url: string): string {
  return url.replace(/\/\/([^/]*)@/, '//***@');
}

/** Connects once and sends PING; E_REDIS_UNREACHABLE after `timeoutMs`. */
export async function pingRedis(url: string, timeoutMs = 5000): Promise<void> {
  const client = new Redis({
    ...redisConnectionFromUrl(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The socket's error (ECONNREFUSED, ENOTFOUND, …) says more than connect()'s "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (err: Error) => (cause ??= err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const why = (cause ?? (err as Error)).message;
    throw new CliError(`cannot reach Redis at ${shownRedisUrl(url)}: ${why}; start it or fix the URL (${HOW_TO_GET_REDIS})`, 'E_REDIS_UNREACHABLE');
  } finally {
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
 * when `allowPrivate`, else E_REDIS_MISSING.
 */
export async function resolveRedis(urls: readonly (string | undefined)[], options: { allowPrivate: boolean }): Promise<RedisService> {
  const url = urls.find((u) => u !== undefined && u !== '');
  if (url !== undefined) {
    const connection = redisConnectionFromUrl(url);
    await pingRedis(url);
    return { url, shownUrl: shownRedisUrl(url), connection, private: false, stop: async () => undefined };
  }
  if (!options.allowPrivate) throw new CliError(`no Redis URL given: ${HOW_TO_GET_REDIS}`, 'E_REDIS_MISSING');
  return startPrivateRedis();
}
