/**
 * An artifact store in a local folder. An object `a/b.bin` is the plain file `<root>/a/b.bin`
 * (so the folder can be browsed and copied), and its sha256, size and type live in the sidecar
 * `<root>/a/.pmamba-meta.b.bin.json`.
 *
 * Commit order (each step an atomic rename of an fsynced temp file):
 *   1. the new bytes are staged in a temp file beside the object;
 *   2. the sidecar is replaced by one recording the new hash and, as `replaces`, the old one;
 *   3. the temp file is renamed over the object — the commit point (a new key is invisible
 *      until then);
 *   4. the sidecar is rewritten without `replaces`.
 * Between 2 and 4 a reader accepts either version, so a concurrent overwrite never looks like
 * corruption, while a partial or foreign change still does. A reader that interleaves with
 * several overwrites in a row re-checks once after a short pause before reporting a mismatch.
 */
import { createReadStream, type Stats } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir, realpath, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SHA256_PATTERN } from '@pmamba/protocol';
import {
  BaseArtifactStore,
  type ListedObject,
  type ObjectInfo,
  type PutOptions,
  type StoredObject,
} from './artifact-store.ts';
import { stageFile, writeAll, writeFileAtomic } from './atomic-file.ts';
import { HashMismatchError, StoreError } from './errors.ts';
import { hasher, sha256 } from './hash.ts';
import { RESERVED_SEGMENT_PREFIX, validateKey, validatePrefix } from './key-path.ts';
import { withRetry, type RetryOptions } from './retry.ts';

const META_PREFIX = `${RESERVED_SEGMENT_PREFIX}meta.`;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** How long a read waits before re-checking a hash mismatch that may be a concurrent overwrite. */
const RECHECK_DELAY_MS = 50;
/** File-system errors that usually clear up on their own (descriptor exhaustion, busy files). */
const TRANSIENT_FS_CODES = new Set(['EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN']);

interface Sidecar {
  sha256: string;
  size: number;
  contentType: string;
  writtenAt: string;
  /** While an overwrite is committing: the hash of the version being replaced. */
  replaces?: string;
}

export interface LocalStoreOptions {
  /** Retries of transient file-system errors (EMFILE, EBUSY, …). Default: see DEFAULT_RETRY. */
  retry?: RetryOptions;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function parseSidecar(text: string): Sidecar | undefined {
  try {
    const value = JSON.parse(text) as Partial<Sidecar>;
    if (typeof value.sha256 === 'string' && SHA256_PATTERN.test(value.sha256) && Number.isSafeInteger(value.size)) {
      return {
        sha256: value.sha256,
        size: value.size as number,
        contentType: typeof value.contentType === 'string' ? value.contentType : DEFAULT_CONTENT_TYPE,
        writtenAt: typeof value.writtenAt === 'string' ? value.writtenAt : '',
        ...(typeof value.replaces === 'string' ? { replaces: value.replaces } : {}),
      };
    }
  } catch {
    // A torn or hand-edited sidecar reads as "no recorded hash".
  }
  return undefined;
}

async function copyStreamInto(source: AsyncIterable<Uint8Array>, fh: FileHandle): Promise<{ sha256: string; size: number }> {
  const hash = hasher();
  for await (const chunk of source) {
    hash.update(chunk);
    await writeAll(fh, chunk);
  }
  return { sha256: hash.digest(), size: hash.size };
}

export class LocalArtifactStore extends BaseArtifactStore {
  readonly url: string;
  /** Absolute, symlink-free path of the store's folder. */
  readonly root: string;
  private readonly retry: RetryOptions;

  private constructor(root: string, options: LocalStoreOptions) {
    super();
    this.root = root;
    this.url = pathToFileURL(root).href;
    this.retry = options.retry ?? {};
  }

  /** Opens (creating if needed) the store folder `root`, resolved against the working directory. */
  static async open(root: string, options: LocalStoreOptions = {}): Promise<LocalArtifactStore> {
    const absolute = resolve(root);
    try {
      await mkdir(absolute, { recursive: true });
      return new LocalArtifactStore(await realpath(absolute), options);
    } catch (err) {
      throw new StoreError('E_STORE_IO', `cannot open the local store folder ${absolute}: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
  }

  async putBytes(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<StoredObject> {
    const path = await this.pathFor(key);
    const digest = { sha256: sha256(bytes), size: bytes.byteLength };
    const fill = async (fh: FileHandle) => {
      await writeAll(fh, bytes);
      return digest;
    };
    await this.run(key, 'write', () => this.write(key, path, options, fill));
    return { key, ...digest };
  }

  async putFile(key: string, source: string, options: PutOptions = {}): Promise<StoredObject> {
    const path = await this.pathFor(key);
    const digest = await this.run(key, 'write', () =>
      this.write(key, path, options, (fh) => copyStreamInto(createReadStream(source), fh)),
    );
    return { key, ...digest };
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const path = await this.pathFor(key);
    return this.readVerified(key, path, async (object) => {
      const bytes = await object.readFile();
      const value = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return { value, sha256: sha256(bytes), size: bytes.byteLength };
    });
  }

  async getToFile(key: string, destination: string): Promise<StoredObject> {
    const path = await this.pathFor(key);
    const target = resolve(destination);
    return this.readVerified(key, path, async (object) => {
      const staged = await stageFile(target, (fh) => copyStreamInto(object.createReadStream({ autoClose: false }), fh));
      return {
        value: { key, ...staged.result },
        ...staged.result,
        accept: () => staged.commit(),
        reject: () => staged.discard(),
      };
    });
  }

  async verify(key: string): Promise<StoredObject> {
    const path = await this.pathFor(key);
    return this.readVerified(key, path, async (object) => {
      const hash = hasher();
      for await (const chunk of object.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) hash.update(chunk);
      const digest = { sha256: hash.digest(), size: hash.size };
      return { value: { key, ...digest }, ...digest };
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = await this.pathFor(key);
    return this.run(key, 'inspect', async () => {
      let stats: Stats;
      try {
        stats = await stat(path);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
        throw err;
      }
      if (!stats.isFile()) return undefined;
      const sidecar = await this.readSidecar(path);
      return {
        key,
        size: stats.size,
        sha256: sidecar?.sha256,
        contentType: sidecar?.contentType,
        lastModified: stats.mtime,
      };
    });
  }

  async list(prefix = ''): Promise<ListedObject[]> {
    validatePrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const startDir = dirKey === '' ? this.root : await this.pathFor(dirKey);
    const found: ListedObject[] = [];
    await this.run(prefix, 'list', async () => {
      found.length = 0;
      await this.walk(startDir, dirKey, prefix, found);
    });
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const path = await this.pathFor(key);
    await this.run(key, 'delete', async () => {
      // Object first: once it is gone the key reads as absent even if the sidecar lingers.
      for (const p of [path, this.sidecarPath(path)]) {
        try {
          await rm(p);
        } catch (err) {
          const code = errnoCode(err);
          if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR' && code !== 'ERR_FS_EISDIR') throw err;
        }
      }
    });
  }

  async close(): Promise<void> {}

  private sidecarPath(path: string): string {
    return join(dirname(path), `${META_PREFIX}${basename(path)}.json`);
  }

  /**
   * Validates the key and maps it to a path under the root. Any existing component that is a
   * symlink must resolve inside the root, so a link cannot smuggle reads or writes elsewhere.
   */
  private async pathFor(key: string): Promise<string> {
    validateKey(key);
    const segments = key.split('/');
    let current = this.root;
    for (const segment of segments) {
      current = join(current, segment);
      let stats: Stats;
      try {
        stats = await lstat(current);
      } catch {
        break; // nothing from here on exists yet: no link to follow
      }
      if (!stats.isSymbolicLink()) continue;
      let target: string | undefined;
      try {
        target = await realpath(current);
      } catch {
        target = undefined;
      }
      if (target === undefined || !isInside(this.root, target)) {
        throw new StoreError(
          'E_STORE_KEY',
          `invalid store key ${JSON.stringify(key)}: ${current} is a symlink leading outside the store ${this.root}`,
          key,
        );
      }
    }
    return join(this.root, ...segments);
  }

  private async readSidecar(path: string): Promise<Sidecar | undefined> {
    try {
      return parseSidecar(await readFile(this.sidecarPath(path), 'utf8'));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  /** Steps 1-4 of the commit order above. `fill` writes the temp file and returns its digest. */
  private async write(
    key: string,
    path: string,
    options: PutOptions,
    fill: (fh: FileHandle) => Promise<{ sha256: string; size: number }>,
  ): Promise<{ sha256: string; size: number }> {
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) {
      throw new StoreError('E_STORE_IO', `cannot write "${key}" in ${this.url}: a folder of other objects already has that name`, key);
    }
    const staged = await stageFile(path, fill);
    const sidecar: Sidecar = {
      ...staged.result,
      contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
      writtenAt: new Date().toISOString(),
    };
    const previous = existing?.isFile() ? (await this.readSidecar(path))?.sha256 : undefined;
    try {
      await this.writeSidecar(path, previous && previous !== sidecar.sha256 ? { ...sidecar, replaces: previous } : sidecar);
      await staged.commit();
    } catch (err) {
      await staged.discard();
      throw err;
    }
    if (previous && previous !== sidecar.sha256) await this.writeSidecar(path, sidecar);
    return staged.result;
  }

  private async writeSidecar(path: string, sidecar: Sidecar): Promise<void> {
    await writeFileAtomic(this.sidecarPath(path), (fh) => writeAll(fh, Buffer.from(JSON.stringify(sidecar), 'utf8')));
  }

  /**
   * Opens the object, reads it with `read` and compares against the sidecar; one re-check
   * after a pause absorbs an overwrite that was mid-commit. `accept`/`reject` finish or undo
   * side effects of the read (a staged destination file).
   */
  private async readVerified<T>(
    key: string,
    path: string,
    read: (object: FileHandle) => Promise<{
      value: T;
      sha256: string;
      size: number;
      accept?: () => Promise<void>;
      reject?: () => Promise<void>;
    }>,
  ): Promise<T> {
    return this.run(key, 'read', async () => {
      for (let check = 1; ; check++) {
        const sidecar = await this.readSidecar(path);
        const object = await this.openObject(key, path);
        let result;
        try {
          result = await read(object);
        } finally {
          await object.close();
        }
        if (sidecar === undefined) {
          await result.reject?.();
          throw new StoreError(
            'E_HASH_MISSING',
            `object "${key}" in ${this.url} has no recorded sha256 (it was not written through the store); write it with the store to use it`,
            key,
          );
        }
        if (result.sha256 === sidecar.sha256 || result.sha256 === sidecar.replaces) {
          await result.accept?.();
          return result.value;
        }
        await result.reject?.();
        if (check >= 2) throw new HashMismatchError(key, this.url, sidecar.sha256, result.sha256);
        await sleep(RECHECK_DELAY_MS);
      }
    });
  }

  private async openObject(key: string, path: string): Promise<FileHandle> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new StoreError('E_NOT_FOUND', `no object "${key}" in ${this.url}`, key, { cause: err });
      }
      throw err;
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw new StoreError('E_NOT_FOUND', `no object "${key}" in ${this.url} (that name is a folder of other objects)`, key);
    }
    return fh;
  }

  private async walk(dir: string, dirKey: string, prefix: string, out: ListedObject[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(RESERVED_SEGMENT_PREFIX)) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      // Symlinks are not listed: only objects the store wrote are.
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await this.walk(join(dir, entry.name), key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const stats = await stat(join(dir, entry.name));
          out.push({ key, size: stats.size, lastModified: stats.mtime });
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err; // deleted while listing
        }
      }
    }
  }

  /** Retries transient file-system errors and turns the rest into StoreErrors naming the key. */
  private run<T>(key: string, action: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, (err) => TRANSIENT_FS_CODES.has(errnoCode(err) ?? ''), this.retry).catch((err: unknown) => {
      if (err instanceof StoreError) throw err;
      const code = errnoCode(err);
      const storeCode = code === 'EACCES' || code === 'EPERM' ? 'E_ACCESS_DENIED' : 'E_STORE_IO';
      throw new StoreError(storeCode, `cannot ${action} "${key}" in ${this.url}: ${(err as Error).message}`, key, { cause: err });
    });
  }
}
