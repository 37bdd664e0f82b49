/**
 * The S3 store against a real S3-compatible server (s3rver) on loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { openStore, sha256, type ArtifactStore } from '../src/index.ts';
import { createS3Client } from '../src/s3-store.ts';
import { validateKey } from '../src/key-path.ts';
import { type RetryEvent } from '../src/retry.ts';
import { fuzzKeys, rejectsWith, storeContract } from './support/contract.ts';

/** The fields of test/support/s3-server.ts's S3TestServer that these tests use. */
interface S3TestServer {
  endpoint: string;
  bucket: string;
  directory: string;
  env: Record<string, string>;
  storeUrl(prefix?: string): string;
  objectPath(bucketKey: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}
// The helper is shared with the top-level integration tests and sits outside this package's
// TypeScript project, so it is loaded by URL rather than by a static import.
const helperUrl = new URL('../../../test/support/s3-server.ts', import.meta.url).href;
const { startS3Server } = (await import(helperUrl)) as { startS3Server: () => Promise<S3TestServer> };

const MIB = 1024 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

storeContract('S3 (s3rver)', async () => {
  const s3 = await startS3Server();
  const store = await openStore(s3.storeUrl('team/artifacts'), { env: s3.env });
  return {
    store,
    tamper: (key, bytes) => writeFile(s3.objectPath(`team/artifacts/${key}`), bytes),
    teardown: async () => {
      await store.close();
      await s3.dispose();
    },
  };
});

describe('S3 store', () => {
  let s3: S3TestServer;
  let scratch: string;

  before(async () => {
    s3 = await startS3Server();
    scratch = await mkdtemp(join(tmpdir(), 'pmamba-s3-scratch-'));
  });
  after(async () => {
    await s3.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  it('uploads large objects in parts and reads them back verified', async () => {
    const commands: string[] = [];
    const client = createS3Client({
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY },
    });
    client.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = await openStore(s3.storeUrl('large'), { s3: { client, partSize: 5 * MIB, multipartThreshold: 5 * MIB } });
    const bytes = randomBytes(12 * MIB + 123);
    const written = await store.putBytes('runs/big/rounds/0/job-0.safetensors', bytes);
    assert.equal(written.sha256, sha256(bytes));
    assert.deepEqual(
      commands.filter((c) => c.includes('Multipart') || c.includes('UploadPart')),
      ['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand'],
    );
    assert.ok(Buffer.from(await store.getBytes(written.key)).equals(bytes));

    // A large file streams up in parts and down into a file.
    const source = join(scratch, 'big-source.bin');
    await writeFile(source, bytes);
    commands.length = 0;
    await store.putFile('runs/big/file.safetensors', source);
    assert.equal(commands.filter((c) => c === 'UploadPartCommand').length, 3);
    const target = join(scratch, 'big-copy.bin');
    assert.equal((await store.getToFile('runs/big/file.safetensors', target)).sha256, sha256(bytes));
    assert.ok((await readFile(target)).equals(bytes));
    assert.deepEqual(await store.verify('runs/big/file.safetensors'), { key: 'runs/big/file.safetensors', size: bytes.length, sha256: sha256(bytes) });
    await store.close();
    client.destroy();
  });

  it('detects an object overwritten behind its back with stale metadata', async () => {
    const store = await openStore(s3.storeUrl('stale'), { env: s3.env });
    const original = await store.putBytes('w.safetensors', Buffer.from('original weights'));
    const client = createS3Client({
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY },
    });
    await client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: 'stale/w.safetensors', Body: Buffer.from('forged weights!!'), Metadata: { sha256: original.sha256 } }),
    );
    await rejectsWith(store.getBytes('w.safetensors'), 'E_HASH_MISMATCH', 'w.safetensors');
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'stale/foreign.bin', Body: Buffer.from('no hash') }));
    await rejectsWith(store.getBytes('foreign.bin'), 'E_HASH_MISSING', 'foreign.bin');
    client.destroy();
    await store.close();
  });

  it('keeps every key inside its prefix on the server (fuzzed)', async () => {
    const store = await openStore(s3.storeUrl('fuzz/inside'), { env: s3.env, retry: { attempts: 1 } });
    const accepted = new Set<string>();
    for (const key of fuzzKeys(250, 77)) {
      try {
        await store.putBytes(key, Buffer.from('fuzz'));
      } catch (err) {
        const e = err as { code?: string; key?: string; message?: string };
        assert.equal(e.code, 'E_STORE_KEY', `unexpected ${e.code} for ${JSON.stringify(key)}: ${e.message}`);
        assert.equal(e.key, key);
        continue;
      }
      accepted.add(key);
      assert.equal(validateKey(key), key);
      assert.equal(Buffer.from(await store.getBytes(key)).toString(), 'fuzz');
    }
    assert.ok(accepted.size > 10, `some fuzzed keys are valid (${accepted.size})`);
    const bucketDir = join(s3.directory, s3.bucket);
    for (const file of await filesUnder(s3.directory)) {
      const rel = relative(bucketDir, file);
      assert.ok(rel.startsWith(`fuzz${sep}inside${sep}`) || !rel.startsWith('fuzz'), `written outside the prefix: ${file}`);
      assert.ok(!rel.startsWith('..'), `written outside the bucket: ${file}`);
    }
    assert.deepEqual(
      (await store.list('')).map((o) => o.key),
      [...accepted].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    await store.close();
  });

  it('rides out a server outage by retrying with backoff', async () => {
    const retries: RetryEvent[] = [];
    const store = await openStore(s3.storeUrl('outage'), {
      env: s3.env,
      retry: { attempts: 12, baseDelayMs: 100, maxDelayMs: 500, onRetry: (e) => retries.push(e) },
    });
    await store.putBytes('before.bin', Buffer.from('written before the outage'));

    await s3.stop();
    const started = Date.now();
    const restart = new Promise<void>((resolve, reject) => {
      setTimeout(() => s3.start().then(resolve, reject), 2000);
    });
    const [read, written] = await Promise.all([
      store.getBytes('before.bin'),
      store.putBytes('during.bin', Buffer.from('written during the outage')),
      restart,
    ]);
    const elapsed = Date.now() - started;
    assert.equal(Buffer.from(read).toString(), 'written before the outage');
    assert.equal(Buffer.from(await store.getBytes(written.key)).toString(), 'written during the outage');
    assert.ok(elapsed >= 1900, `succeeded only once the server was back (${elapsed} ms)`);
    assert.ok(retries.length >= 4, `retried (${retries.length} retries)`);
    const delays = retries.map((r) => r.delayMs);
    assert.ok(delays.every((d) => d >= 50 && d <= 500), `delays within the configured bounds: ${delays.join(', ')}`);
    await store.close();
  });

  it('fails fast, without retrying, on errors a retry cannot fix', async () => {
    const retries: RetryEvent[] = [];
    const retry = { attempts: 10, baseDelayMs: 500, onRetry: (e: RetryEvent) => retries.push(e) };
    const store = await openStore(s3.storeUrl('fast'), { env: s3.env, retry });
    let started = Date.now();
    await rejectsWith(store.getBytes('missing.bin'), 'E_NOT_FOUND', 'missing.bin');
    await rejectsWith(store.getToFile('missing.bin', join(scratch, 'x')), 'E_NOT_FOUND', 'missing.bin');
    assert.ok(Date.now() - started < 400);

    const noBucket = await openStore('s3://no-such-bucket-here/p', { env: s3.env, retry });
    started = Date.now();
    await rejectsWith(noBucket.getBytes('k.bin'), 'E_BUCKET_NOT_FOUND', 'k.bin');
    await rejectsWith(noBucket.putBytes('k.bin', Buffer.from('x')), 'E_BUCKET_NOT_FOUND', 'k.bin');
    assert.ok(Date.now() - started < 400);
    assert.equal(retries.length, 0);
    await store.close();
    await noBucket.close();
  });

  it('gives up after the configured attempts with E_STORE_UNAVAILABLE', async () => {
    const retries: RetryEvent[] = [];
    const store = await openStore(s3.storeUrl('down'), {
      env: s3.env,
      retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 40, onRetry: (e) => retries.push(e) },
    });
    await s3.stop();
    try {
      await assert.rejects(store.getBytes('x.bin'), (err: { code?: string; key?: string; message?: string }) => {
        assert.equal(err.code, 'E_STORE_UNAVAILABLE');
        assert.equal(err.key, 'x.bin');
        assert.match(err.message ?? '', /after 3 attempt/);
        assert.match(err.message ?? '', /S3_ENDPOINT/);
        return true;
      });
      assert.equal(retries.length, 2);
    } finally {
      await s3.start();
      await store.close();
    }
  });
});

describe('store URLs', () => {
  it('rejects malformed store URLs with E_STORE_URL', async () => {
    for (const url of ['artifacts', 'http://x/y', 's3://', 's3:///prefix', 's3://Bad_Bucket/x', 's3://bucket/../x', 'file://']) {
      await assert.rejects(openStore(url, { env: {} }), (err: { code?: string; message?: string }) => {
        assert.equal(err.code, 'E_STORE_URL', `${url}: ${err.message}`);
        return true;
      });
    }
  });

  it('opens s3:// URLs lazily and names the bucket and prefix', async () => {
    const store: ArtifactStore = await openStore('s3://my-bucket/some/prefix/', { env: { S3_ENDPOINT: 'http://127.0.0.1:1' } });
    assert.equal(store.url, 's3://my-bucket/some/prefix');
    await store.close();
  });
});
