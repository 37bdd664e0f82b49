/** SHA-256 content hashes: recorded when an object is written, checked when it is read. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface FileDigest {
  sha256: string;
  size: number;
}

/** Streams a file once; for files too large to hold in memory twice. */
export async function sha256File(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** A running hash for bytes that pass through a stream. */
export function hasher(): { update(chunk: Uint8Array): void; readonly size: number; digest(): string } {
  const hash: Hash = createHash('sha256');
  let size = 0;
  return {
    update(chunk) {
      hash.update(chunk);
      size += chunk.length;
    },
    get size() {
      return size;
    },
    digest: () => hash.digest('hex'),
  };
}
