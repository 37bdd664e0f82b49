/**
 * Atomic file replacement: bytes go to a temp file in the destination's folder, are fsynced,
 * and only then renamed over the destination (rename is atomic within one file system), after
 * which the folder itself is fsynced so the rename survives a crash.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RESERVED_SEGMENT_PREFIX } from './key-path.ts';

export const TEMP_PREFIX = `${RESERVED_SEGMENT_PREFIX}tmp.`;

/** A fully written, fsynced temp file waiting to become `finalPath`. */
export interface StagedFile<T = void> {
  readonly tempPath: string;
  /** What the write callback returned. */
  readonly result: T;
  /** Renames the temp file over the destination and fsyncs the folder. */
  commit(): Promise<void>;
  /** Removes the temp file. */
  discard(): Promise<void>;
}

/** Writes a whole buffer, looping over short writes. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

/** fsyncs a folder; file systems that cannot (some network mounts) are skipped. */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF' && code !== 'ENOTSUP') throw err;
  } finally {
    await fh?.close();
  }
}

/** Creates the destination's folder and a temp file beside it, fills it with `write`, fsyncs it. */
export async function stageFile<T>(finalPath: string, write: (fh: FileHandle) => Promise<T>): Promise<StagedFile<T>> {
  const dir = dirname(finalPath);
  await mkdir(dir, { recursive: true });
  const tempPath = join(dir, `${TEMP_PREFIX}${basename(finalPath)}.${randomBytes(6).toString('hex')}`);
  const fh = await open(tempPath, 'wx', 0o644);
  let result: T;
  try {
    result = await write(fh);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tempPath, { force: true });
    throw err;
  }
  await fh.close();
  return {
    tempPath,
    result,
    commit: async () => {
      await rename(tempPath, finalPath);
      await syncDir(dir);
    },
    discard: () => rm(tempPath, { force: true }),
  };
}

/** Stages and commits in one go; the temp file is removed if anything fails. */
export async function writeFileAtomic<T>(finalPath: string, write: (fh: FileHandle) => Promise<T>): Promise<T> {
  const staged = await stageFile(finalPath, write);
  try {
    await staged.commit();
  } catch (err) {
    await staged.discard();
    throw err;
  }
  return staged.result;
}
