/**
 * The zip reading a PyTorch checkpoint needs: the central directory, stored and deflated
 * entries, CRC-checked. torch.save writes stored entries whose local headers carry padding
 * (so data start 64-byte aligned), hence data offsets come from each local header.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { ZipError } from '../errors.ts';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** "PK\x03\x04": the first local header. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The entries of the central directory, by name. */
export function readZipDirectory(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record is the last 22 bytes plus a comment of at most 65535 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError(`${source}: no zip end-of-central-directory record; the file is truncated or not a zip (download it again)`);
  const count = view.getUint16(eocd + 10, true);
  const dirSize = view.getUint32(eocd + 12, true);
  const dirOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    throw new ZipError(`${source}: a zip64 archive (over 4 GB or 65535 entries) is not supported; save the weights as safetensors instead`);
  }
  if (dirOffset + dirSize > eocd) throw new ZipError(`${source}: the zip central directory (${dirSize} bytes at ${dirOffset}) lies outside the file; it is truncated or corrupt`);
  const entries = new Map<string, ZipEntry>();
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > eocd || view.getUint32(at, true) !== CENTRAL) throw new ZipError(`${source}: zip central directory entry ${i} is corrupt`);
    const flags = view.getUint16(at + 8, true);
    const nameLen = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLen));
    if (flags & 1) throw new ZipError(`${source}: zip entry ${name} is encrypted`);
    entries.set(name, {
      name,
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    });
    at += 46 + nameLen + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return entries;
}

/** An entry's uncompressed bytes (a view into `bytes` when stored). */
export function readZipEntry(bytes: Uint8Array, e: ZipEntry, source: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = e.localHeaderOffset;
  if (h + 30 > bytes.length || view.getUint32(h, true) !== LOCAL) throw new ZipError(`${source}: zip entry ${e.name} has no local header at ${h}; the file is corrupt`);
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  if (start + e.compressedSize > bytes.length) throw new ZipError(`${source}: zip entry ${e.name} runs past the end of the file; it is truncated`);
  const raw = bytes.subarray(start, start + e.compressedSize);
  if (e.method !== 0 && e.method !== 8) throw new ZipError(`${source}: zip entry ${e.name} uses compression method ${e.method}; only stored and deflate are supported`);
  let data = raw;
  if (e.method === 8) {
    try {
      data = inflateRawSync(raw);
    } catch (err) {
      throw new ZipError(`${source}: zip entry ${e.name} does not inflate (${(err as Error).message}); the file is corrupt`);
    }
  }
  if (data.length !== e.size || crc32(data) !== e.crc) throw new ZipError(`${source}: zip entry ${e.name} fails its size or CRC check; the file is corrupt`);
  return data;
}
