/**
 * Reads one member of a zip archive (a game's .pk3 is a plain zip): the end-of-central-directory
 * record, the central directory, then only the member's own bytes, so a 330 MB archive costs a
 * few reads. Stored and deflated members; no zip64, no encryption (the archives we read need
 * neither).
 *
 * @example
 * const jpg = await readZipMember('/usr/share/games/ufoai/base/0textures.pk3', 'textures/tex_ctp1/wood_b_9.jpg');
 */
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { RealTexturesError } from './errors.ts';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** The EOCD record is 22 bytes plus a comment of at most 65,535. */
const EOCD_SEARCH = 22 + 0xffff;

/** The bytes of `member` inside the zip archive `file`. */
export async function readZipMember(file: string, member: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const tailLength = Math.min(size, EOCD_SEARCH);
    const tail = Buffer.alloc(tailLength);
    await fh.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new RealTexturesError('E_SOURCE_FORMAT', `${file}: not a zip archive (no end-of-central-directory record)`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);

    let p = 0;
    for (let e = 0; e < entries; e++) {
      if (cd.readUInt32LE(p) !== CENTRAL_SIGNATURE) {
        throw new RealTexturesError('E_SOURCE_FORMAT', `${file}: corrupt central directory at entry ${e}`);
      }
      const method = cd.readUInt16LE(p + 10);
      const compressed = cd.readUInt32LE(p + 20);
      const uncompressed = cd.readUInt32LE(p + 24);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
      p += 46 + nameLength + extraLength + commentLength;
      if (name !== member) continue;

      const local = Buffer.alloc(30);
      await fh.read(local, 0, 30, localOffset);
      if (local.readUInt32LE(0) !== LOCAL_SIGNATURE) {
        throw new RealTexturesError('E_SOURCE_FORMAT', `${file}: corrupt local header of ${member}`);
      }
      const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const raw = Buffer.alloc(compressed);
      await fh.read(raw, 0, compressed, dataStart);
      let bytes: Buffer;
      if (method === 0) bytes = raw;
      else if (method === 8) bytes = inflateRawSync(raw);
      else throw new RealTexturesError('E_SOURCE_FORMAT', `${file}: ${member} uses zip compression method ${method}; only stored (0) and deflate (8) are read`);
      if (bytes.length !== uncompressed) {
        throw new RealTexturesError('E_SOURCE_FORMAT', `${file}: ${member} inflated to ${bytes.length} bytes, the directory says ${uncompressed}`);
      }
      return bytes;
    }
    throw new RealTexturesError('E_SOURCE_FORMAT', `${file}: has no member ${member} (a different package version?)`);
  } finally {
    await fh.close();
  }
}
