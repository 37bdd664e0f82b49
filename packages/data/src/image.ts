/**
 * Image decoding and the model's input preprocessing.
 *
 * Pipeline (what `loadImage` does), the same for every reader:
 * 1. decode PNG / JPEG / TIFF / WebP through sharp, BMP through our own decoder (./bmp.ts);
 *    alpha is dropped, 16-bit images are reduced to 8 bits, EXIF orientation is ignored
 *    (pixels are used as stored, as PIL does);
 * 2. grey images are expanded to three equal channels (policy `grey: 'expand'`, the default)
 *    or refused (`grey: 'fail'`);
 * 3. the shorter side is resized to `resize` (default `size`) and the centre `size`×`size`
 *    square is cropped — torchvision's Resize(int) + CenterCrop(size);
 * 4. values are scaled to [0, 1] and normalised with ImageNet mean/std per channel.
 *
 * Output layout: Float32Array in **CHW** order, `out[c*size*size + y*size + x]`; batches are
 * N×3×H×W, so a batch file opens in numpy as `a.reshape(n, 3, size, size)` exactly like a
 * PyTorch tensor.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { decodeBmp, isBmp } from './bmp.ts';
import { ImageDecodeError } from './errors.ts';

/** ImageNet channel means (RGB), the normalisation every timm/torchvision backbone expects. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** An image file path, or its encoded bytes. */
export type ImageSource = string | Uint8Array;

/** Resampling kernels sharp offers. */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';

/** Where the model's square input comes from in a source image. */
export interface ImageGeometry {
  /** Side of the square output in pixels. */
  size: number;
  /** The shorter side is resized to this before the centre crop. Default: `size`. */
  resize?: number;
  /** Resampling kernel for images (masks always use nearest). Default: 'linear' (PIL bilinear-like, antialiased). */
  kernel?: ResizeKernel;
}

/** What to do with single-channel (grey) images. */
export type GreyPolicy = 'expand' | 'fail';

/** Options of `loadImage`. */
export interface PreprocessOptions extends ImageGeometry {
  /** Per-channel mean, RGB. Default: IMAGENET_MEAN. */
  mean?: readonly [number, number, number];
  /** Per-channel std, RGB. Default: IMAGENET_STD. */
  std?: readonly [number, number, number];
  /** Grey images: copy to 3 channels ('expand', default) or throw E_IMAGE_CHANNELS ('fail'). */
  grey?: GreyPolicy;
}

/** 8-bit pixels, interleaved HWC. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** Header facts about an image file, without decoding its pixels. */
export interface ImageInfo {
  width: number;
  height: number;
  /** 1 for grey (with or without alpha), 3 for colour. */
  channels: 1 | 3;
  format: string;
}

function describe(source: ImageSource): string {
  return typeof source === 'string' ? source : '<buffer>';
}

function readFailure(path: string, err: unknown, mask: boolean): ImageDecodeError {
  const e = err as NodeJS.ErrnoException;
  const what = e.code === 'ENOENT' ? 'file does not exist' : e.code === 'EISDIR' ? 'is a directory' : e.message;
  return new ImageDecodeError(mask ? 'E_MASK_UNREADABLE' : 'E_IMAGE_UNREADABLE', `${path}: cannot read ${mask ? 'mask' : 'image'}: ${what}`, path, { cause: err });
}

async function readBytes(source: ImageSource, mask: boolean): Promise<Uint8Array> {
  if (typeof source !== 'string') return source;
  try {
    return await readFile(source);
  } catch (err) {
    throw readFailure(source, err, mask);
  }
}

/** Formats the loader decodes (sharp for all but BMP, which ./bmp.ts decodes). */
export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'tiff' | 'webp';

/** Bytes `checkImageHeader` reads: every signature below fits (WebP's ends at byte 12). */
export const HEADER_BYTES = 16;

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean => sig.every((v, i) => b[at + i] === v);

/** The format an image's first bytes announce, when it is one the loader decodes. */
export function sniffImageFormat(head: Uint8Array): ImageFormat | undefined {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (isBmp(head)) return 'bmp';
  // Classic TIFF (42) and BigTIFF (43), either byte order.
  if (startsWith(head, [0x49, 0x49]) && (head[2] === 0x2a || head[2] === 0x2b) && head[3] === 0) return 'tiff';
  if (startsWith(head, [0x4d, 0x4d, 0x00]) && (head[3] === 0x2a || head[3] === 0x2b)) return 'tiff';
  if (startsWith(head, [0x52, 0x49, 0x46, 0x46]) && startsWith(head, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  return undefined;
}

/** The first bytes as a reader would recognise them: quoted text if printable, else hex. */
function showHead(head: Uint8Array): string {
  const first = head.subarray(0, 8);
  const text = (b: number): boolean => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;
  if (first.every(text)) return JSON.stringify(Buffer.from(first).toString('latin1'));
  return Array.from(first, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Reads only the first HEADER_BYTES of a file and checks they start an image the loader
 * decodes (a cheap test that catches text, HTML error pages or empty files saved as .png).
 * Throws E_IMAGE_UNREADABLE (E_MASK_UNREADABLE for masks) naming the file; returns the format.
 * It does not find truncated or corrupt pixel data: only decoding does.
 */
export async function checkImageHeader(path: string, mask = false): Promise<ImageFormat> {
  const head = new Uint8Array(HEADER_BYTES);
  let n: number;
  try {
    const file = await open(path, 'r');
    try {
      n = (await file.read(head, 0, HEADER_BYTES, 0)).bytesRead;
    } finally {
      await file.close();
    }
  } catch (err) {
    throw readFailure(path, err, mask);
  }
  const what = mask ? 'mask' : 'image';
  const code = mask ? 'E_MASK_UNREADABLE' : 'E_IMAGE_UNREADABLE';
  if (n === 0) throw new ImageDecodeError(code, `${path}: ${what} file is empty (0 bytes)`, path);
  const format = sniffImageFormat(head.subarray(0, n));
  if (!format) {
    throw new ImageDecodeError(code, `${path}: not a supported ${what} (PNG, JPEG, BMP, TIFF, WebP): the file starts with ${showHead(head.subarray(0, n))}`, path);
  }
  return format;
}

/** True when a PNG lacks its IEND chunk or a JPEG its EOI marker: the file was cut short. */
function looksTruncated(bytes: Uint8Array): boolean {
  const n = bytes.length;
  if (n >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const tail = Buffer.from(bytes.subarray(Math.max(0, n - 16))).toString('latin1');
    return !tail.includes('IEND');
  }
  if (n >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let i = n - 1; i >= Math.max(1, n - 64); i--) if (bytes[i] === 0xd9 && bytes[i - 1] === 0xff) return false;
    return true;
  }
  return false;
}

export function decodeError(err: unknown, bytes: Uint8Array, where: string, mask: boolean): ImageDecodeError {
  if (err instanceof ImageDecodeError) return err;
  const msg = ((err as Error).message ?? String(err)).trim();
  const what = mask ? 'mask' : 'image';
  const detail = msg && !/^unknown error$/i.test(msg) ? `; decoder: ${msg}` : '';
  if (/premature end|truncated|unexpected end/i.test(msg) || looksTruncated(bytes)) {
    return new ImageDecodeError(
      mask ? 'E_MASK_UNREADABLE' : 'E_IMAGE_TRUNCATED',
      `${where}: ${what} is truncated: the file (${bytes.length} bytes) ends before its pixel data does${detail}`,
      where,
      { cause: err },
    );
  }
  if (/unsupported image format/i.test(msg)) {
    return new ImageDecodeError(mask ? 'E_MASK_UNREADABLE' : 'E_IMAGE_UNREADABLE', `${where}: not a supported ${what} (PNG, JPEG, BMP, TIFF, WebP)`, where, { cause: err });
  }
  return new ImageDecodeError(mask ? 'E_MASK_UNREADABLE' : 'E_IMAGE_UNREADABLE', `${where}: cannot decode ${what}${detail}`, where, { cause: err });
}

/** An image opened for decoding (internal to this package). */
export interface OpenedImage {
  pipeline: Sharp;
  width: number;
  height: number;
  grey: boolean;
  bytes: Uint8Array;
}

// The metadata read is cheap (header only) and tells us the size for our own crop arithmetic
// and whether the file is grey, which sharp's raw output alone would hide after colour conversion.
export async function openImage(source: ImageSource, mask: boolean): Promise<OpenedImage> {
  const where = describe(source);
  const bytes = await readBytes(source, mask);
  try {
    if (isBmp(bytes)) {
      const bmp = decodeBmp(bytes, where);
      const pipeline = sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: bmp.channels } });
      return { pipeline, width: bmp.width, height: bmp.height, grey: bmp.channels === 1, bytes };
    }
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error('image has no size');
    const channels = meta.channels ?? 3;
    const grey = channels <= 2 || meta.space === 'b-w' || meta.space === 'grey16';
    const pipeline = sharp(bytes, { failOn: 'truncated' });
    return { pipeline, width: meta.width, height: meta.height, grey, bytes };
  } catch (err) {
    throw decodeError(err, bytes, where, mask);
  }
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop uses it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The resized size and centre-crop offsets of the geometry applied to a w×h image. */
export function cropBox(width: number, height: number, geometry: ImageGeometry): {
  resizedWidth: number;
  resizedHeight: number;
  left: number;
  top: number;
} {
  const { size } = geometry;
  const resize = geometry.resize ?? size;
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(resize) || resize < size) {
    throw new ImageDecodeError('E_IMAGE_UNREADABLE', `bad geometry: size ${size}, resize ${resize} (need integers, resize ≥ size ≥ 1)`);
  }
  let resizedWidth: number;
  let resizedHeight: number;
  if (width <= height) {
    resizedWidth = resize;
    resizedHeight = Math.max(resize, Math.floor((resize * height) / width));
  } else {
    resizedHeight = resize;
    resizedWidth = Math.max(resize, Math.floor((resize * width) / height));
  }
  return {
    resizedWidth,
    resizedHeight,
    left: roundHalfEven((resizedWidth - size) / 2),
    top: roundHalfEven((resizedHeight - size) / 2),
  };
}

/** Reads an image's size, channel count and format from its header. */
export async function imageInfo(source: ImageSource): Promise<ImageInfo> {
  const o = await openImage(source, false);
  let format = 'bmp';
  if (!isBmp(o.bytes)) format = (await o.pipeline.metadata()).format ?? 'unknown';
  return { width: o.width, height: o.height, channels: o.grey ? 1 : 3, format };
}

/** Decodes an image at its own size: 1 channel if grey, else 3 (alpha dropped). */
export async function decodeImage(source: ImageSource): Promise<RawImage> {
  const o = await openImage(source, false);
  try {
    const p = o.pipeline.removeAlpha().toColourspace(o.grey ? 'b-w' : 'srgb');
    const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels === 1 ? 1 : 3 };
  } catch (err) {
    throw decodeError(err, o.bytes, describe(source), false);
  }
}

/**
 * Decodes, resizes (shorter side) and centre-crops an image to `size`×`size` RGB, 8 bits, HWC.
 * Grey images become three equal channels unless `grey` is 'fail'.
 */
export async function loadRgb(source: ImageSource, options: ImageGeometry & { grey?: GreyPolicy }): Promise<RawImage> {
  const where = describe(source);
  const o = await openImage(source, false);
  if (o.grey && options.grey === 'fail') {
    throw new ImageDecodeError('E_IMAGE_CHANNELS', `${where}: image is grey (1 channel) but colour was required (grey policy 'fail')`, where);
  }
  const box = cropBox(o.width, o.height, options);
  try {
    let p = o.pipeline.removeAlpha();
    if (box.resizedWidth !== o.width || box.resizedHeight !== o.height) {
      p = p.resize(box.resizedWidth, box.resizedHeight, { fit: 'fill', kernel: options.kernel ?? 'linear' });
    }
    if (box.resizedWidth !== options.size || box.resizedHeight !== options.size) {
      p = p.extract({ left: box.left, top: box.top, width: options.size, height: options.size });
    }
    const { data, info } = await p.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== options.size || info.height !== options.size) {
      throw new Error(`unexpected decoded shape ${info.width}×${info.height}×${info.channels}`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch (err) {
    throw decodeError(err, o.bytes, where, false);
  }
}

const lutCache = new Map<string, Float32Array>();

function normalisationLut(mean: readonly number[], std: readonly number[]): Float32Array {
  const key = `${mean.join(',')}/${std.join(',')}`;
  let lut = lutCache.get(key);
  if (!lut) {
    lut = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
    lutCache.set(key, lut);
  }
  return lut;
}

/**
 * Writes an HWC RGB image into `out` at `offset` as normalised CHW floats.
 * @returns the number of floats written (3·w·h).
 */
export function rgbToChw(
  rgb: RawImage,
  out: Float32Array,
  offset = 0,
  mean: readonly [number, number, number] = IMAGENET_MEAN,
  std: readonly [number, number, number] = IMAGENET_STD,
): number {
  if (rgb.channels !== 3) throw new RangeError('rgbToChw: expects 3 channels');
  const plane = rgb.width * rgb.height;
  const lut = normalisationLut(mean, std);
  const src = rgb.data;
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[offset + i] = lut[src[p]];
    out[offset + plane + i] = lut[256 + src[p + 1]];
    out[offset + 2 * plane + i] = lut[512 + src[p + 2]];
  }
  return 3 * plane;
}

/**
 * The model input for one image: Float32Array 3×size×size (CHW), ImageNet-normalised.
 * Pass `out`/`offset` to write into a batch buffer instead of allocating.
 */
export async function loadImage(source: ImageSource, options: PreprocessOptions, out?: Float32Array, offset = 0): Promise<Float32Array> {
  const rgb = await loadRgb(source, options);
  const target = out ?? new Float32Array(3 * options.size * options.size);
  rgbToChw(rgb, target, out ? offset : 0, options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD);
  return target;
}

/**
 * Encodes 8-bit HWC pixels as PNG (1 channel → grey PNG, 3 → RGB). Output bytes are a pure
 * function of the input for a given sharp/libvips version.
 */
export async function encodePng(image: RawImage): Promise<Buffer> {
  const { data, width, height, channels } = image;
  let p = sharp(data, { raw: { width, height, channels } });
  if (channels === 1) p = p.toColourspace('b-w');
  return p.png({ compressionLevel: 6, adaptiveFiltering: false, palette: false }).toBuffer();
}

/** Writes 8-bit HWC pixels to a PNG file. */
export async function writePng(path: string, image: RawImage): Promise<void> {
  await writeFile(path, await encodePng(image));
}
