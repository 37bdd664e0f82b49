// Shared by the data tests: temporary folders and small image writers (nothing is committed
// as a binary; every picture is made on the fly).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'pmamba-data-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes a solid-colour RGB (or grey, when `rgb` has one value) image in the format of the extension. */
export async function writeSolid(path: string, width: number, height: number, rgb: readonly number[]): Promise<void> {
  const channels = rgb.length as 1 | 3;
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = rgb[c];
  await writeRaw(path, data, width, height, channels);
}

/** Writes raw HWC bytes as PNG / JPEG / TIFF / BMP (by extension; BMP through our test encoder). */
export async function writeRaw(path: string, data: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (path.toLowerCase().endsWith('.bmp')) {
    await writeFile(path, channels === 3 ? encodeBmp24(data, width, height) : encodeBmp8Grey(data, width, height));
    return;
  }
  let p = sharp(data, { raw: { width, height, channels } });
  if (channels === 1) p = p.toColourspace('b-w');
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  const out = ext === 'jpg' || ext === 'jpeg' ? p.jpeg({ quality: 95 }) : ext === 'tif' || ext === 'tiff' ? p.tiff() : p.png();
  await writeFile(path, await out.toBuffer());
}

/** A 0/255 single-channel PNG mask with a filled rectangle [x0, x1)×[y0, y1). */
export async function writeMask(path: string, width: number, height: number, rect?: [number, number, number, number]): Promise<void> {
  const data = new Uint8Array(width * height);
  if (rect) {
    const [x0, y0, x1, y1] = rect;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 255;
  }
  await writeRaw(path, data, width, height, 1);
}

function bmpHeader(fileSize: number, pixelOffset: number, width: number, height: number, bpp: number, colors: number): Buffer {
  const h = Buffer.alloc(54);
  h.write('BM', 0, 'latin1');
  h.writeUInt32LE(fileSize, 2);
  h.writeUInt32LE(pixelOffset, 10);
  h.writeUInt32LE(40, 14);
  h.writeInt32LE(width, 18);
  h.writeInt32LE(height, 22);
  h.writeUInt16LE(1, 26);
  h.writeUInt16LE(bpp, 28);
  h.writeUInt32LE(0, 30);
  h.writeUInt32LE(colors, 46);
  return h;
}

/** 24-bit bottom-up BMP. */
export function encodeBmp24(rgb: Uint8Array, width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const row = (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      pixels[row + x * 3] = rgb[s + 2];
      pixels[row + x * 3 + 1] = rgb[s + 1];
      pixels[row + x * 3 + 2] = rgb[s];
    }
  }
  return Buffer.concat([bmpHeader(54 + pixels.length, 54, width, height, 24, 0), pixels]);
}

/** 32-bit top-down BMP (BI_RGB, the fourth byte unused). */
export function encodeBmp32TopDown(rgb: Uint8Array, width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    pixels[i * 4] = rgb[i * 3 + 2];
    pixels[i * 4 + 1] = rgb[i * 3 + 1];
    pixels[i * 4 + 2] = rgb[i * 3];
    pixels[i * 4 + 3] = 0;
  }
  return Buffer.concat([bmpHeader(54 + pixels.length, 54, width, -height, 32, 0), pixels]);
}

/** 8-bit paletted BMP with a grey ramp palette. */
export function encodeBmp8Grey(grey: Uint8Array, width: number, height: number): Buffer {
  return encodeBmp8(grey, width, height, Array.from({ length: 256 }, (_, i) => [i, i, i]));
}

/** 8-bit paletted BMP with the given RGB palette. */
export function encodeBmp8(indices: Uint8Array, width: number, height: number, palette: readonly (readonly number[])[]): Buffer {
  const stride = Math.ceil(width / 4) * 4;
  const pal = Buffer.alloc(palette.length * 4);
  palette.forEach(([r, g, b], i) => {
    pal[i * 4] = b;
    pal[i * 4 + 1] = g;
    pal[i * 4 + 2] = r;
  });
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[(height - 1 - y) * stride + x] = indices[y * width + x];
  const offset = 54 + pal.length;
  return Buffer.concat([bmpHeader(offset + pixels.length, offset, width, height, 8, palette.length), pal, pixels]);
}

/** Asserts two numbers agree to `tol`. */
export function near(actual: number, expected: number, tol = 1e-6): boolean {
  return Math.abs(actual - expected) <= tol;
}
