/**
 * An S3-compatible server (s3rver) for tests: in-process, on 127.0.0.1, a free port, a private
 * temp directory and a fresh bucket. `stop()` + `start()` simulate an outage on the same port
 * and keep the data; `dispose()` stops it and removes the directory.
 *
 *   const s3 = await startS3Server();
 *   const store = await openStore(s3.storeUrl('runs'), { env: s3.env });
 *   …
 *   await s3.dispose();
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of s3rver's API the helper uses (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** s3rver's built-in account. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';

export interface S3TestServerOptions {
  /** Bucket to create. Default: a unique `pmamba-test-<random>`. */
  bucket?: string;
  /** Log every request to the console. Default: false. */
  verbose?: boolean;
}

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  /** s3rver's data directory; objects live under `<directory>/<bucket>/…`. */
  readonly directory: string;
  /** Environment for clients: S3_ENDPOINT, AWS credentials and region. */
  readonly env: Record<string, string>;
  /** `s3://<bucket>/<prefix>` (no prefix: the bucket root). */
  storeUrl(prefix?: string): string;
  /** The file that holds a bucket key's bytes, for tests that tamper with stored objects. */
  objectPath(bucketKey: string): string;
  /** Stops listening; data stays. Open connections are cut, as in an outage. */
  stop(): Promise<void>;
  /** Starts again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops (if running) and deletes the data directory. */
  dispose(): Promise<void>;
}

/** Starts s3rver on a free loopback port with a fresh bucket. */
export async function startS3Server(options: S3TestServerOptions = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? `pmamba-test-${randomBytes(4).toString('hex')}`;
  const directory = await mkdtemp(join(tmpdir(), 'pmamba-s3rver-'));
  const silent = !options.verbose;

  let instance: S3rverInstance | undefined;
  const listen = async (port: number): Promise<number> => {
    const server = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent,
      configureBuckets: [{ name: bucket }],
    });
    const address = await server.run();
    instance = server;
    return address.port;
  };

  const port = await listen(0);
  const endpoint = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    const server = instance;
    if (!server) return;
    instance = undefined;
    const closed = server.close();
    // close() waits for keep-alive sockets to go idle; an outage cuts them at once.
    server.httpServer?.closeAllConnections();
    await closed;
  };

  return {
    endpoint,
    port,
    bucket,
    directory,
    env: {
      S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_REGION: 'us-east-1',
    },
    storeUrl: (prefix?: string) => (prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`),
    objectPath: (bucketKey: string) => {
      const parts = bucketKey.split('/');
      const name = parts.pop() ?? '';
      return join(directory, bucket, ...parts, `${name}._S3rver_object`);
    },
    stop,
    start: async () => {
      if (instance) return;
      await listen(port);
    },
    dispose: async () => {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
