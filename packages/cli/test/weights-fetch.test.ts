// `pmamba weights fetch` and downloadVerified against a loopback HTTP server that serves a
// generated file with Range and ETag support, and can cut connections, serve wrong bytes,
// change the file, and redirect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WEIGHTS_CATALOG } from '../src/weights/catalog.ts';
import { downloadVerified, type DownloadEvent } from '../src/weights/download.ts';
import { WeightsError } from '../src/errors.ts';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const SIZE = 3 * 1024 * 1024;
const MiB = 1024 * 1024;

/** Deterministic bytes (xorshift32), so every run serves the same file. */
function seededBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Serves /file (Range, If-Range, ETag); /x and /redirect redirect to it. */
class FileServer {
  data = seededBytes(SIZE, 1);
  etag = '"v1"';
  /** Cut each of the next `cuts` responses after this many body bytes. */
  cutAfter = 0;
  cuts = 0;
  /** Serve the file with one byte flipped. */
  wrongBytes = false;
  /** Honour Range even when If-Range names another version (a non-conforming server). */
  ignoreIfRange = false;
  requests: { path: string; range?: string; ifRange?: string }[] = [];
  bytesSent = 0;
  readonly server: Server = createServer((req, res) => this.handle(req, res));

  reset(): void {
    this.data = seededBytes(SIZE, 1);
    this.etag = '"v1"';
    this.cutAfter = 0;
    this.cuts = 0;
    this.wrongBytes = false;
    this.ignoreIfRange = false;
    this.requests = [];
    this.bytesSent = 0;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    this.requests.push({ path: req.url ?? '', ...(range ? { range } : {}), ...(typeof ifRange === 'string' ? { ifRange } : {}) });
    if (req.url === '/x' || req.url === '/redirect') {
      res.writeHead(302, { location: '/file' }).end();
      return;
    }
    if (req.url !== '/file') {
      res.writeHead(404).end();
      return;
    }
    let body = this.data;
    if (this.wrongBytes) {
      body = Buffer.from(this.data);
      body[12345] ^= 0xff;
    }
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    const honour = m && (!ifRange || ifRange === this.etag || this.ignoreIfRange);
    const start = honour ? Number(m[1]) : 0;
    const headers: Record<string, string | number> = {
      etag: this.etag,
      'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT',
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
    };
    if (honour && start >= body.length) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    headers['content-length'] = body.length - start;
    if (honour) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(honour ? 206 : 200, headers);
    const slice = body.subarray(start);
    if (this.cuts > 0) {
      this.cuts--;
      const sent = slice.subarray(0, this.cutAfter);
      res.write(sent, () => {
        this.bytesSent += sent.length;
        res.socket?.destroy();
      });
      return;
    }
    this.bytesSent += slice.length;
    res.end(slice);
  }
}

const server = new FileServer();
let dir: string;
let n = 0;
const target = () => join(dir, `w${++n}`, 'teacher.pth');
const fast = { backoffMs: 5, stallMs: 5000 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmamba-weights-'));
  await new Promise<void>((ok) => server.server.listen(0, '127.0.0.1', ok));
});
after(async () => {
  server.server.closeAllConnections();
  await new Promise((ok) => server.server.close(ok));
  rmSync(dir, { recursive: true, force: true });
});

test('catalog: every torchvision pin starts with the 8 hex digits in its file name, as torch hub checks', () => {
  for (const e of WEIGHTS_CATALOG) {
    assert.match(e.sha256 ?? e.sha256Prefix ?? '', e.sha256 ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{8,63}$/, e.name);
    const prefix = /-([0-9a-f]{8})\.pth$/.exec(e.fileName)?.[1];
    if (prefix) assert.ok((e.sha256 ?? e.sha256Prefix)!.startsWith(prefix), `${e.name}: ${e.fileName}`);
    assert.ok(e.url.startsWith('https://'), e.name);
  }
});

test('a full download through a redirect verifies, reports progress and appears at out only when complete', async () => {
  server.reset();
  const out = target();
  const events: DownloadEvent[] = [];
  let seenEarly = false;
  const r = await downloadVerified({
    url: server.url('/redirect'),
    sha256: sha256(server.data),
    bytes: SIZE,
    out,
    ...fast,
    onProgress: (e) => {
      events.push(e);
      if (e.type === 'progress' && existsSync(out)) seenEarly = true;
    },
  });
  assert.equal(r.status, 'downloaded');
  assert.equal(r.bytes, SIZE);
  assert.equal(r.sha256, sha256(server.data));
  assert.equal(r.prefixOnly, false);
  assert.ok(readFileSync(out).equals(server.data));
  assert.equal(seenEarly, false, 'out must not exist before the file is verified');
  assert.ok(!existsSync(`${out}.part`) && !existsSync(`${out}.part.json`));
  assert.deepEqual(server.requests.map((q) => q.path), ['/redirect', '/file']);
  const last = events.filter((e) => e.type === 'progress').at(-1);
  assert.deepEqual(last, { type: 'progress', received: SIZE, total: SIZE });
  assert.ok(events.some((e) => e.type === 'verify'));
});

test('a cut connection is resumed with a Range request and ends with the right bytes', async () => {
  server.reset();
  server.cutAfter = MiB;
  server.cuts = 1;
  const out = target();
  const retries: DownloadEvent[] = [];
  const r = await downloadVerified({
    url: server.url('/redirect'),
    sha256: sha256(server.data),
    out,
    ...fast,
    onProgress: (e) => void (e.type === 'retry' && retries.push(e)),
  });
  assert.equal(r.status, 'downloaded');
  assert.ok(readFileSync(out).equals(server.data));
  assert.equal(retries.length, 1);
  const resumed = server.requests.filter((q) => q.path === '/file' && q.range);
  assert.equal(resumed.length, 1, JSON.stringify(server.requests));
  const offset = Number(/^bytes=(\d+)-$/.exec(resumed[0].range!)![1]);
  assert.ok(offset > 0 && offset <= MiB, `resumed at ${offset}`);
  assert.equal(resumed[0].ifRange, '"v1"', 'the resume names the version it continues');
  assert.ok(server.bytesSent < 2 * SIZE, `${server.bytesSent} bytes sent for a ${SIZE}-byte file`);
});

test('a file that changed on the server between attempts is fetched again whole, with or without If-Range support', async () => {
  for (const ignoreIfRange of [false, true]) {
    server.reset();
    server.ignoreIfRange = ignoreIfRange;
    server.cutAfter = MiB;
    server.cuts = 1;
    const v2 = seededBytes(SIZE, 2);
    const out = target();
    const restarts: string[] = [];
    await downloadVerified({
      url: server.url('/file'),
      sha256: sha256(v2),
      out,
      ...fast,
      onProgress: (e) => {
        // The file is replaced while the client waits to retry.
        if (e.type === 'retry') {
          server.data = v2;
          server.etag = '"v2"';
        }
        if (e.type === 'restart') restarts.push(e.reason);
      },
    });
    assert.ok(readFileSync(out).equals(v2), `ignoreIfRange=${ignoreIfRange}`);
    assert.equal(restarts.length, 1, restarts.join('; '));
    assert.match(restarts[0], /changed/);
  }
});

test('a connection cut beyond the retries leaves no file at out, names the bytes received, and a rerun resumes', async () => {
  server.reset();
  server.cutAfter = 256 * 1024;
  server.cuts = Infinity;
  const out = target();
  const pin = sha256(server.data);
  const err = await downloadVerified({ url: server.url('/file'), sha256: pin, out, ...fast, retries: 2 }).then(
    () => assert.fail('expected the download to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WeightsError);
  assert.equal(err.code, 'E_WEIGHTS_CUT');
  assert.equal(existsSync(out), false);
  const kept = statSync(`${out}.part`).size;
  assert.equal(err.received, kept);
  assert.ok(kept > 256 * 1024, `each retry resumed: ${kept} bytes kept`);
  assert.match(err.message, new RegExp(`received ${kept} of ${SIZE} bytes`));
  assert.match(err.message, /3 request\(s\)/);
  assert.ok(err.message.includes(server.url('/file')));
  assert.ok(err.message.includes(`${out}.part`) && /run the same command again to resume/.test(err.message));

  server.cuts = 0;
  server.requests = [];
  const r = await downloadVerified({ url: server.url('/file'), sha256: pin, out, ...fast });
  assert.ok(readFileSync(out).equals(server.data));
  assert.equal(r.requests, 1);
  assert.deepEqual(server.requests, [{ path: '/file', range: `bytes=${kept}-`, ifRange: '"v1"' }]);
  assert.ok(server.bytesSent < 2 * SIZE);
});

test('a wrong hash deletes the download and the message shows expected and actual', async () => {
  server.reset();
  server.wrongBytes = true;
  const out = target();
  const expected = sha256(server.data);
  const served = Buffer.from(server.data);
  served[12345] ^= 0xff;
  await assert.rejects(downloadVerified({ url: server.url('/file'), sha256: expected, out, ...fast }), (e: WeightsError) => {
    assert.equal(e.code, 'E_WEIGHTS_HASH');
    assert.ok(e.message.includes(`expected sha256 ${expected}`), e.message);
    assert.ok(e.message.includes(`got sha256 ${sha256(served)} (${SIZE} bytes)`), e.message);
    return true;
  });
  assert.ok(!existsSync(out) && !existsSync(`${out}.part`) && !existsSync(`${out}.part.json`));
});

test('a pinned size the server does not offer is refused before anything is written', async () => {
  server.reset();
  const out = target();
  await assert.rejects(
    downloadVerified({ url: server.url('/file'), sha256: sha256(server.data), bytes: SIZE + 1, out, ...fast }),
    (e: WeightsError) => e.code === 'E_WEIGHTS_SIZE' && e.message.includes(`serves ${SIZE} bytes`) && e.message.includes(`${SIZE + 1} bytes`),
  );
  assert.ok(!existsSync(out) && !existsSync(`${out}.part`));
});

test('an existing file with the pinned hash is kept without a request; one with another hash is left alone', async () => {
  server.reset();
  const out = target();
  const pin = sha256(server.data);
  await downloadVerified({ url: server.url('/file'), sha256: pin, out, ...fast });
  const before = server.requests.length;
  const again = await downloadVerified({ url: server.url('/file'), sha256: pin, out, ...fast });
  assert.equal(again.status, 'present');
  assert.equal(again.requests, 0);
  assert.equal(server.requests.length, before);
  // A prefix pin (torch hub's rule) accepts the same file.
  const byPrefix = await downloadVerified({ url: server.url('/file'), sha256Prefix: pin.slice(0, 8), out, ...fast });
  assert.equal(byPrefix.status, 'present');
  assert.equal(byPrefix.prefixOnly, true);

  writeFileSync(out, 'not the weights');
  await assert.rejects(downloadVerified({ url: server.url('/file'), sha256: pin, out, ...fast }), (e: WeightsError) => e.code === 'E_WEIGHTS_EXISTS');
  assert.equal(readFileSync(out, 'utf8'), 'not the weights');
});

const pmamba = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

test('pmamba weights fetch: --url with --sha256 lands the file and prints how to use it; a mismatch exits non-zero', async () => {
  server.reset();
  const out = target();
  const pin = sha256(server.data);
  const ok = await pmamba('weights', 'fetch', 'resnet18', '--url', server.url('/x'), '--sha256', pin, '--out', out);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(readFileSync(out).equals(server.data));
  assert.ok(ok.stdout.includes(`resnet18: saved ${out}`), ok.stdout);
  assert.ok(ok.stdout.includes(`${SIZE} bytes`));
  assert.ok(ok.stdout.includes(`sha256  ${pin} (matches --sha256)`));
  assert.match(ok.stdout, /model\.teacher\.weights: \S+teacher\.pth .*model\.encoder: resnet18/);
  assert.match(ok.stdout, /--teacher-weights \S+teacher\.pth/);
  assert.match(ok.stderr, /resnet18: 100% \(3\.0 of 3\.0 MB\)/, 'plain progress lines when stderr is not a terminal');

  const bad = await pmamba('weights', 'fetch', 'resnet18', '--url', server.url('/x'), '--sha256', 'ab'.repeat(32), '--out', target());
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /\[E_WEIGHTS_HASH\]/);
  assert.ok(bad.stderr.includes(`expected sha256 ${'ab'.repeat(32)}`) && bad.stderr.includes(`got sha256 ${pin}`), bad.stderr);

  // Without --sha256 the catalog's pin applies to the mirror: this file is not ResNet-18.
  const pinned = await pmamba('weights', 'fetch', 'resnet18', '--url', server.url('/x'), '--out', target());
  assert.notEqual(pinned.code, 0);
  assert.match(pinned.stderr, /\[E_WEIGHTS_SIZE\]/);
  assert.ok(pinned.stderr.includes('46830571 bytes') && pinned.stderr.includes('f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec'), pinned.stderr);
});
