/**
 * Downloads one file and lands it only if its sha256 matches the pin.
 *
 * The bytes go to `<out>.part` beside the target (so the final rename stays on one file
 * system) and `<out>.part.json` records where they came from (URL, ETag / Last-Modified,
 * size). A later call resumes the `.part` with a Range request guarded by If-Range, so a file
 * that changed on the server comes back whole (200) instead of being spliced onto old bytes.
 * A cut or stalled connection is retried with exponential backoff from the bytes already
 * there. The finished file is hashed whole, fsynced and renamed onto `out`: `out` is either
 * absent or the verified file, never partial.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SHA256_PATTERN } from '@pmamba/protocol';
import { describePin, type WeightsPin } from './catalog.ts';
import { WeightsError } from '../errors.ts';

/** What a download reports as it goes (for progress bars and logs). */
export type DownloadEvent =
  /** A response is being read; `offset` > 0 when it continues a `.part`. */
  | { type: 'start'; url: string; offset: number; total: number | undefined }
  /** `received` counts every byte in the `.part` file, including resumed ones. */
  | { type: 'progress'; received: number; total: number | undefined }
  /** The connection failed; the next attempt (`attempt` of `retries`) follows after `delayMs`. */
  | { type: 'retry'; attempt: number; retries: number; received: number; total: number | undefined; delayMs: number; reason: string }
  /** The `.part` could not be continued and the download starts from byte 0. */
  | { type: 'restart'; reason: string }
  /** All bytes are in; the whole file is being hashed. */
  | { type: 'verify'; bytes: number };

export type DownloadOptions = WeightsPin & {
  /** http(s) URL of the file; redirects are followed. */
  url: string;
  /** Target path; its folder is created. An existing file there is kept if it matches the pin and never overwritten otherwise. */
  out: string;
  /** Exact size in bytes, when known: a server offering another size is refused before anything is written. */
  bytes?: number;
  /** Called with progress, retries and restarts. */
  onProgress?: (event: DownloadEvent) => void;
  /** Stops the download; the `.part` file is kept for a later call to resume. */
  signal?: AbortSignal;
  /** fetch to use (tests, proxies). Default: Node's global fetch. */
  fetchImpl?: typeof fetch;
  /** Retries after a cut, stalled or 5xx connection, over the whole download. Default 5. */
  retries?: number;
  /** Delay before the first retry, doubled for each further one. Default 1000 ms. */
  backoffMs?: number;
  /** A connection that delivers nothing for this long counts as cut. Default 60 000 ms. */
  stallMs?: number;
};

export interface DownloadResult {
  /** Absolute path of the verified file. */
  path: string;
  bytes: number;
  /** Full sha256 of the file (hex), also for prefix-pinned downloads. */
  sha256: string;
  /** `present`: the file was already at `out` and matched; nothing was fetched. */
  status: 'downloaded' | 'present';
  /** Only a prefix of the sha256 was pinned, so only that prefix was checked. */
  prefixOnly: boolean;
  /** HTTP requests made (redirects not counted). */
  requests: number;
}

/** Where a `.part` came from, so it is only continued from the same file. */
interface PartMeta {
  url: string;
  pin: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

/** A failure worth retrying (cut, stall, 5xx); anything typed WeightsError is final. */
class TransientError extends Error {}

/** The `.part` cannot be continued; start over from byte 0 (not counted as a retry). */
class Restart extends Error {}

const HEX = /^[0-9a-f]+$/;

export async function downloadVerified(options: DownloadOptions): Promise<DownloadResult> {
  const pin = normalisePin(options);
  const url = checkUrl(options.url);
  const out = resolve(options.out);
  const part = `${out}.part`;
  const metaPath = `${out}.part.json`;
  const emit = options.onProgress ?? (() => undefined);
  const fetchImpl = options.fetchImpl ?? fetch;
  const retries = options.retries ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  const stallMs = options.stallMs ?? 60_000;
  const prefixOnly = pin.sha256 === undefined;
  const pinKey = pin.sha256 ?? pin.sha256Prefix!;
  const matches = (hex: string) => (pin.sha256 !== undefined ? hex === pin.sha256 : hex.startsWith(pin.sha256Prefix!));

  const existing = await stat(out).catch(() => undefined);
  if (existing) {
    if (!existing.isFile()) throw new WeightsError('E_WEIGHTS_EXISTS', `${out} exists and is not a file; pass another --out`);
    const have = await hashFile(out);
    if (matches(have.sha256)) return { path: out, bytes: have.bytes, sha256: have.sha256, status: 'present', prefixOnly, requests: 0 };
    throw new WeightsError(
      'E_WEIGHTS_EXISTS',
      `${out} already exists with sha256 ${have.sha256} (${have.bytes} bytes), not the pinned ${describePin(pin)}; ` +
        'it is left alone: delete it or pass another --out, then run again',
    );
  }
  await mkdir(dirname(out), { recursive: true });

  let meta = await readMeta(metaPath);
  if ((await partSize(part)) > 0 && (meta?.pin !== pinKey || (options.bytes !== undefined && (await partSize(part)) > options.bytes))) {
    // Bytes of some other file (another pin at the same --out): useless here.
    await dropPart(part, metaPath);
    meta = undefined;
  }

  let requests = 0;
  let failures = 0;
  let restarts = 0;
  let total = meta?.total ?? options.bytes;

  /** One request: appends to (or rewrites) the `.part` until the body ends. */
  const attempt = async (): Promise<void> => {
    const offset = await partSize(part);
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      const validator = meta && meta.url === url ? (meta.etag && !meta.etag.startsWith('W/') ? meta.etag : meta.lastModified) : undefined;
      if (validator) headers['if-range'] = validator;
    }
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        ctrl.abort();
      }, stallMs);
    };
    try {
      arm();
      requests++;
      const res = await fetchImpl(url, { headers, redirect: 'follow', signal: ctrl.signal });
      const etag = res.headers.get('etag') ?? undefined;
      const lastModified = res.headers.get('last-modified') ?? undefined;
      let start: number;
      if (res.status === 416 && offset > 0) {
        await res.body?.cancel();
        const whole = Number(/\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN);
        if (whole === offset) return; // the .part already holds every byte
        throw new Restart(`the server cannot continue at byte ${offset} (HTTP 416)`);
      } else if (res.status === 206) {
        const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          await res.body?.cancel();
          throw new Restart(`the server answered the range request at byte ${offset} with another range (${res.headers.get('content-range') ?? 'none'})`);
        }
        // Servers that ignore If-Range still name their version: a different one means a different file.
        const changed =
          meta?.url === url && ((meta.etag && etag && meta.etag !== etag) || (!meta.etag && meta.lastModified && lastModified && meta.lastModified !== lastModified));
        if (changed) {
          await res.body?.cancel();
          throw new Restart(`the file at ${url} changed since the .part was started (${meta!.etag ?? meta!.lastModified} → ${etag ?? lastModified})`);
        }
        start = offset;
        if (m[3] !== '*') total = Number(m[3]);
      } else if (res.status === 200) {
        if (offset > 0) {
          emit({ type: 'restart', reason: headers['if-range'] ? `the file at ${url} changed since the .part was started` : 'the server does not resume downloads' });
        }
        start = 0;
        const length = res.headers.get('content-length');
        total = length !== null && !res.headers.get('content-encoding') ? Number(length) : undefined;
      } else {
        await res.body?.cancel();
        const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
        if (res.status >= 500 || res.status === 408 || res.status === 429) throw new TransientError(status);
        throw new WeightsError('E_WEIGHTS_HTTP', `${url} answered ${status}; check the URL (a --url mirror must serve the file itself)`);
      }
      if (options.bytes !== undefined && total !== undefined && total !== options.bytes) {
        await res.body?.cancel();
        await dropPart(part, metaPath);
        throw new WeightsError(
          'E_WEIGHTS_SIZE',
          `${url} serves ${total} bytes, but the pinned file (${describePin(pin)}) is ${options.bytes} bytes: it is not that file, ` +
            'so nothing was downloaded (a --url mirror must serve the same file, or pin its own with --sha256)',
        );
      }
      meta = { url, pin: pinKey, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}), ...(total !== undefined ? { total } : {}) };
      await writeFile(metaPath, JSON.stringify(meta) + '\n');
      emit({ type: 'start', url, offset: start, total });
      let received = start;
      const fh = await open(part, start === 0 ? 'w' : 'a');
      try {
        if (res.body) {
          for await (const chunk of res.body) {
            arm();
            await fh.write(chunk);
            received += chunk.byteLength;
            emit({ type: 'progress', received, total });
          }
        }
      } finally {
        await fh.close();
      }
      if (total !== undefined && received < total) throw new TransientError(`the connection closed at byte ${received} of ${total}`);
    } catch (err) {
      if (err instanceof WeightsError || err instanceof Restart || err instanceof TransientError) throw err;
      if (options.signal?.aborted) throw aborted(url, part, await partSize(part), total);
      if (stalled) throw new TransientError(`no data for ${Math.round(stallMs / 1000)} s`);
      throw new TransientError(describeNetworkError(err));
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  };

  for (;;) {
    if (options.signal?.aborted) throw aborted(url, part, await partSize(part), total);
    try {
      await attempt();
      break;
    } catch (err) {
      if (err instanceof Restart) {
        // Bounded so that a server that never serves consistent ranges still ends.
        if (++restarts > retries + 1) throw cutError(url, part, await partSize(part), total, requests, err.message);
        emit({ type: 'restart', reason: err.message });
        await dropPart(part, metaPath);
        meta = undefined;
        continue;
      }
      if (!(err instanceof TransientError)) throw err;
      const received = await partSize(part);
      if (++failures > retries) throw cutError(url, part, received, total, requests, err.message);
      const delayMs = backoffMs * 2 ** (failures - 1);
      emit({ type: 'retry', attempt: failures, retries, received, total, delayMs, reason: err.message });
      try {
        await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        throw aborted(url, part, received, total);
      }
    }
  }

  const got = await hashFile(part);
  emit({ type: 'verify', bytes: got.bytes });
  const sizeOk = options.bytes === undefined || got.bytes === options.bytes;
  if (!matches(got.sha256) || !sizeOk) {
    await dropPart(part, metaPath);
    throw new WeightsError(
      'E_WEIGHTS_HASH',
      `${url}: the downloaded file does not match its pin: expected ${describePin(pin)}${options.bytes !== undefined ? ` (${options.bytes} bytes)` : ''}, ` +
        `got sha256 ${got.sha256} (${got.bytes} bytes). The download was deleted and ${out} not written. ` +
        'A --url mirror serving another file needs --sha256 of that file; otherwise the bytes were damaged on the way: run again',
    );
  }
  // Durable before visible: the data reaches the disk before the name points at it.
  const fh = await open(part, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(part, out);
  await syncDir(dirname(out));
  await rm(metaPath, { force: true });
  return { path: out, bytes: got.bytes, sha256: got.sha256, status: 'downloaded', prefixOnly, requests };
}

/** sha256 (hex) and size of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function normalisePin(p: WeightsPin): WeightsPin {
  if (p.sha256 !== undefined) {
    const sha256 = p.sha256.toLowerCase();
    if (!SHA256_PATTERN.test(sha256)) {
      throw new WeightsError('E_WEIGHTS_ARGUMENT', `sha256 must be 64 hex digits, got '${p.sha256}'`);
    }
    return { sha256 };
  }
  const prefix = (p.sha256Prefix ?? '').toLowerCase();
  if (prefix.length < 8 || prefix.length > 64 || !HEX.test(prefix)) {
    throw new WeightsError('E_WEIGHTS_ARGUMENT', `a sha256 prefix must be 8 to 64 hex digits, got '${p.sha256Prefix ?? ''}'`);
  }
  return { sha256Prefix: prefix };
}

function checkUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new WeightsError('E_WEIGHTS_ARGUMENT', `'${raw}' is not a URL; pass an http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new WeightsError('E_WEIGHTS_ARGUMENT', `${raw}: only http and https URLs are fetched`);
  }
  return u.href;
}

function ofTotal(received: number, total: number | undefined): string {
  return total === undefined ? `${received} bytes (total unknown)` : `${received} of ${total} bytes`;
}

function cutError(url: string, part: string, received: number, total: number | undefined, requests: number, reason: string): WeightsError {
  return new WeightsError(
    'E_WEIGHTS_CUT',
    `downloading ${url} failed after ${requests} request(s) (last: ${reason}); received ${ofTotal(received, total)}. ` +
      `Those bytes are kept in ${part}: run the same command again to resume from there (delete it to start over)`,
    received,
  );
}

function aborted(url: string, part: string, received: number, total: number | undefined): WeightsError {
  return new WeightsError(
    'E_WEIGHTS_ABORTED',
    `download of ${url} stopped at ${ofTotal(received, total)}; the bytes are kept in ${part} and the same command resumes from there`,
    received,
  );
}

/** undici wraps socket errors as `TypeError: fetch failed` with the real one as `cause`. */
function describeNetworkError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message ?? 'network error'} (${cause})` : (e.message ?? String(err));
}

async function partSize(part: string): Promise<number> {
  return (await stat(part).catch(() => undefined))?.size ?? 0;
}

async function readMeta(path: string): Promise<PartMeta | undefined> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as PartMeta;
    return typeof m.url === 'string' && typeof m.pin === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

async function dropPart(part: string, metaPath: string): Promise<void> {
  await rm(part, { force: true });
  await rm(metaPath, { force: true });
}

/** Makes the rename itself durable; not every platform can open a folder for fsync. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows: folders cannot be fsynced; the rename is still atomic.
  }
}
