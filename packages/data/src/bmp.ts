/**
 * A BMP decoder for the uncompressed variants that datasets ship (BTAD, some folder datasets):
 * 1/4/8-bit paletted, 16-bit and 32-bit (plain or BI_BITFIELDS) and 24-bit BGR, bottom-up or
 * top-down. The bundled libvips has no BMP loader, so sharp cannot read these files itself.
 * RLE-compressed files are refused with a clear error.
 */
import { ImageDecodeError } from './errors.ts';

/** Decoded pixels, interleaved HWC, 8 bits per channel; grey palettes decode to one channel. */
export interface BmpImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** True when the bytes start with the BMP signature `BM`. */
export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

interface Field {
  shift: number;
  max: number;
}

function field(mask: number): Field {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/** Decodes a BMP file's bytes; `where` names the file in errors. */
export function decodeBmp(bytes: Uint8Array, where = '<buffer>'): BmpImage {
  const fail = (msg: string, code: 'E_IMAGE_UNREADABLE' | 'E_IMAGE_TRUNCATED' = 'E_IMAGE_UNREADABLE'): never => {
    throw new ImageDecodeError(code, `${where}: ${msg}`, where);
  };
  if (!isBmp(bytes)) fail('not a BMP file');
  if (bytes.length < 26) fail('truncated BMP header', 'E_IMAGE_TRUNCATED');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = v.getUint32(10, true);
  const dibSize = v.getUint32(14, true);
  if (bytes.length < 14 + Math.min(dibSize, 40)) fail('truncated BMP header', 'E_IMAGE_TRUNCATED');

  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  let colorsUsed = 0;
  let paletteEntry = 4;
  if (dibSize === 12) {
    width = v.getUint16(18, true);
    height = v.getInt16(20, true);
    bpp = v.getUint16(24, true);
    paletteEntry = 3;
  } else if (dibSize >= 40) {
    width = v.getInt32(18, true);
    height = v.getInt32(22, true);
    bpp = v.getUint16(28, true);
    compression = v.getUint32(30, true);
    colorsUsed = v.getUint32(46, true);
  } else {
    return fail(`unsupported BMP header size ${dibSize}`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height === 0 || width > 65535 || height > 65535) fail(`bad BMP dimensions ${width}×${height}`);

  // Bit masks: BI_BITFIELDS (3) and BI_ALPHABITFIELDS (6) store them right after a 40-byte
  // header, or inside the V2+ header at the same offset.
  let masks: [number, number, number] | undefined;
  if (compression === 3 || compression === 6) {
    if (bytes.length < 66) fail('truncated BMP bit masks', 'E_IMAGE_TRUNCATED');
    masks = [v.getUint32(54, true), v.getUint32(58, true), v.getUint32(62, true)];
  } else if (compression !== 0) {
    fail(`compressed BMP (compression ${compression}) is not supported; convert it to PNG`);
  }
  if (bpp === 16 && !masks) masks = [0x7c00, 0x03e0, 0x001f];
  if (bpp === 32 && !masks) masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) fail(`unsupported BMP bit depth ${bpp}`);

  let palette: Uint8Array | undefined; // RGB triplets
  let grey = false;
  if (bpp <= 8) {
    const count = colorsUsed || 1 << bpp;
    const start = 14 + dibSize + (compression === 3 ? 12 : compression === 6 ? 16 : 0);
    if (start + count * paletteEntry > bytes.length) fail('truncated BMP palette', 'E_IMAGE_TRUNCATED');
    palette = new Uint8Array(256 * 3);
    grey = true;
    for (let i = 0; i < count && i < 256; i++) {
      const p = start + i * paletteEntry;
      const b = bytes[p];
      const g = bytes[p + 1];
      const r = bytes[p + 2];
      palette[i * 3] = r;
      palette[i * 3 + 1] = g;
      palette[i * 3 + 2] = b;
      if (r !== g || g !== b) grey = false;
    }
  }

  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) {
    fail(`truncated BMP pixel data (needs ${pixelOffset + stride * height} bytes, file has ${bytes.length})`, 'E_IMAGE_TRUNCATED');
  }
  const channels: 1 | 3 = grey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  const fields = masks?.map(field);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * channels;
    for (let x = 0; x < width; x++) {
      if (palette) {
        const bit = x * bpp;
        const byte = bytes[row + (bit >> 3)];
        const idx = bpp === 8 ? byte : (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        if (grey) out[o++] = palette[idx * 3];
        else {
          out[o++] = palette[idx * 3];
          out[o++] = palette[idx * 3 + 1];
          out[o++] = palette[idx * 3 + 2];
        }
      } else if (bpp === 24) {
        const p = row + x * 3;
        out[o++] = bytes[p + 2];
        out[o++] = bytes[p + 1];
        out[o++] = bytes[p];
      } else {
        const px = bpp === 16 ? v.getUint16(row + x * 2, true) : v.getUint32(row + x * 4, true);
        for (const f of fields!) {
          out[o++] = f.max === 0 ? 0 : Math.round((((px >>> f.shift) & f.max) * 255) / f.max);
        }
      }
    }
  }
  return { data: out, width, height, channels };
}
