/**
 * Ground-truth masks: decoded as grey, resized with nearest-neighbour (our own, so no
 * filter ever invents intermediate values), centre-cropped with the same geometry as the
 * image, then binarised to 0/1 bytes, H×W row-major.
 */
import { cropBox, decodeError, openImage } from './image.ts';
import type { ImageGeometry, ImageSource } from './image.ts';

/**
 * How grey values become labels: 'half' → value/255 > 0.5 (MVTec AD, BTAD: masks are 0/255);
 * 'nonzero' → value > 0 (VisA, whose masks hold small region indices).
 */
export type MaskThreshold = 'half' | 'nonzero';

/** Options of `loadMask`. */
export interface MaskOptions extends Pick<ImageGeometry, 'size' | 'resize'> {
  /** Default: 'half'. */
  threshold?: MaskThreshold;
}

/**
 * Nearest-neighbour resize of a single-channel image, PyTorch `mode="nearest"` semantics:
 * destination pixel i samples source pixel floor(i · in / out).
 */
export function resizeNearest(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  const xs = new Int32Array(outWidth);
  for (let x = 0; x < outWidth; x++) xs[x] = Math.min(width - 1, Math.floor((x * width) / outWidth));
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(height - 1, Math.floor((y * height) / outHeight));
    const row = sy * width;
    const o = y * outWidth;
    for (let x = 0; x < outWidth; x++) out[o + x] = src[row + xs[x]];
  }
  return out;
}

/**
 * The binary mask for an image, `size`×`size` bytes of 0/1. With no source (a good image)
 * it is all zeros.
 */
export async function loadMask(source: ImageSource | undefined, options: MaskOptions): Promise<Uint8Array> {
  const { size } = options;
  if (source === undefined) return new Uint8Array(size * size);
  const o = await openImage(source, true);
  let grey: Uint8Array;
  try {
    const { data } = await o.pipeline.removeAlpha().toColourspace('b-w').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    grey = new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (err) {
    throw decodeError(err, o.bytes, typeof source === 'string' ? source : '<buffer>', true);
  }
  const box = cropBox(o.width, o.height, options);
  const resized = resizeNearest(grey, o.width, o.height, box.resizedWidth, box.resizedHeight);
  const cut = options.threshold === 'nonzero' ? 0 : 127;
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    const row = (y + box.top) * box.resizedWidth + box.left;
    for (let x = 0; x < size; x++) out[y * size + x] = resized[row + x] > cut ? 1 : 0;
  }
  return out;
}
