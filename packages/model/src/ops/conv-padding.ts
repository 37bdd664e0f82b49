import * as tf from '@tensorflow/tfjs-core';

/**
 * Convolution padding as PyTorch states it: a number is symmetric zero padding on every side
 * (nn.Conv2d `padding=p`), `'valid'` is none, `'same'` keeps the size at stride 1 (total k − 1,
 * the extra one after, as torch does for even kernels). Never tfjs's `'same'`, which pads
 * stride-2 convolutions asymmetrically.
 */
export type ConvPad = number | 'same' | 'valid';

/** Zero padding per side of the two spatial axes, in input pixels. */
export interface Pads2D {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export function resolvePads(pad: ConvPad, kh: number, kw: number, stride: number, op: string): Pads2D {
  if (pad === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (pad === 'same') {
    if (stride !== 1) throw new RangeError(`${op}: padding 'same' needs stride 1 (as in PyTorch); got stride ${stride}. Pass the number of pixels instead.`);
    const top = Math.floor((kh - 1) / 2);
    const left = Math.floor((kw - 1) / 2);
    return { top, bottom: kh - 1 - top, left, right: kw - 1 - left };
  }
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`${op}: padding must be a non-negative integer, 'same' or 'valid'; got ${pad}`);
  return { top: pad, bottom: pad, left: pad, right: pad };
}

/** tfjs's explicit padding argument for an NHWC op, one [before, after] pair per axis. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

export function explicitPadding(p: Pads2D): ExplicitPadding {
  return [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]];
}

/**
 * Pads (positive amounts) or crops (negative amounts) the H and W axes of an NHWC tensor:
 * the adjoint bookkeeping of a padded convolution needs both.
 */
export function padOrCrop(x: tf.Tensor4D, p: Pads2D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  let y = x;
  const cropTop = Math.max(0, -p.top);
  const cropBottom = Math.max(0, -p.bottom);
  const cropLeft = Math.max(0, -p.left);
  const cropRight = Math.max(0, -p.right);
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    y = tf.slice(y, [0, cropTop, cropLeft, 0], [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c]);
  }
  const padTop = Math.max(0, p.top);
  const padBottom = Math.max(0, p.bottom);
  const padLeft = Math.max(0, p.left);
  const padRight = Math.max(0, p.right);
  if (padTop + padBottom + padLeft + padRight > 0) {
    y = tf.pad(y, [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]]);
  }
  return y;
}

/** Output length of a convolution along one axis (PyTorch: floor division). */
export function convOutSize(size: number, k: number, stride: number, before: number, after: number): number {
  return Math.floor((size + before + after - k) / stride) + 1;
}
