import * as tf from '@tensorflow/tfjs-core';
import { type ConvPad, type Pads2D, convOutSize, explicitPadding, padOrCrop, resolvePads } from './conv-padding.ts';
import { transposedProduct } from './matmul.ts';

/**
 * 2-D convolution on NHWC with PyTorch's padding (see `ConvPad`) and a gradient built only from
 * kernels every backend has (the wasm backend has no Conv2DBackpropFilter, and its
 * Conv2DBackpropInput is a slow reference loop):
 * - filter gradient: one stride-1 convolution of the transposed input ([C, H, W, N]) with the
 *   transposed output gradient ([Ho, Wo, N, Cout]) as filter, dilated by the stride;
 * - input gradient: for each stride phase, a stride-1 convolution of the output gradient with the
 *   flipped, transposed sub-filter; the phases are interleaved by reshapes;
 * - 1×1 convolutions are matMuls (strided ones subsample first).
 *
 * ```ts
 * const y = conv2d(x, w, 2, 1, b); // nn.Conv2d(cin, cout, 3, stride=2, padding=1)(x)
 * ```
 * @param x [N, H, W, Cin]
 * @param filter [kh, kw, Cin, Cout]
 * @param stride 1 or 2, both axes
 * @param pad PyTorch padding: pixels on every side, `'valid'` or `'same'` (stride 1)
 * @param bias [Cout]
 */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: 1 | 2 = 1, pad: ConvPad = 0, bias?: tf.Tensor1D): tf.Tensor4D {
  const [kh, kw, cin, cout] = filter.shape;
  if (x.rank !== 4 || filter.rank !== 4) throw new RangeError(`conv2d: x must be [N,H,W,C] and filter [kh,kw,Cin,Cout]; got ${x.shape} and ${filter.shape}`);
  if (x.shape[3] !== cin) throw new RangeError(`conv2d: x has ${x.shape[3]} channels but the filter expects ${cin} (filter ${filter.shape})`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) throw new RangeError(`conv2d: bias must be [${cout}]; got ${bias.shape}`);
  if (stride !== 1 && stride !== 2) throw new RangeError(`conv2d: stride must be 1 or 2; got ${stride}`);
  const pads = resolvePads(pad, kh, kw, stride, 'conv2d');
  const [, h, w] = x.shape;
  const ho = convOutSize(h, kh, stride, pads.top, pads.bottom);
  const wo = convOutSize(w, kw, stride, pads.left, pads.right);
  if (ho < 1 || wo < 1) throw new RangeError(`conv2d: a ${kh}×${kw} filter does not fit a ${h}×${w} input with padding ${JSON.stringify(pads)}`);

  const pointwise = kh === 1 && kw === 1 && pads.top + pads.bottom + pads.left + pads.right === 0;
  const forward = pointwise ? pointwiseForward : spatialForward;
  const backward = pointwise ? pointwiseBackward : spatialBackward;
  const geometry: Geometry = { stride, pads, ho, wo };

  // One custom-gradient op; the bias (if any) rides along as a third input.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, fi, bi] = args.slice(0, -1) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D?];
    save([xi, fi]);
    const y = forward(xi, fi, geometry);
    return {
      value: (bi ? tf.add(y, bi) : y) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => tf.tidy(() => {
        const grads: tf.Tensor[] = backward(dy, saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D, geometry);
        if (bi) grads.push(tf.sum(dy, [0, 1, 2]));
        return grads;
      }),
    };
  });
  return (bias ? op(x, filter, bias) : op(x, filter)) as tf.Tensor4D;
}

interface Geometry {
  stride: 1 | 2;
  pads: Pads2D;
  ho: number;
  wo: number;
}

function spatialForward(x: tf.Tensor4D, f: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  return tf.conv2d(x, f, g.stride, explicitPadding(g.pads));
}

function spatialBackward(dy: tf.Tensor4D, x: tf.Tensor4D, f: tf.Tensor4D, g: Geometry): [tf.Tensor4D, tf.Tensor4D] {
  return [inputGradient(dy, f, x.shape, g), filterGradient(dy, x, f.shape, g)];
}

/**
 * dW[i,j,c,o] = Σ_{n,y,x} xpad[n, s·y+i, s·x+j, c] · dy[n,y,x,o]: a correlation of the input with
 * dy over the batch-and-space axes, so a convolution with batch C, channels N, filter dy dilated by s.
 */
function filterGradient(dy: tf.Tensor4D, x: tf.Tensor4D, fshape: [number, number, number, number], g: Geometry): tf.Tensor4D {
  const [kh, kw] = fshape;
  const [, h, w] = x.shape;
  const s = g.stride;
  // Only the padded rows/columns the forward pass read (a stride-2 conv may skip the last).
  const usedH = s * (g.ho - 1) + kh;
  const usedW = s * (g.wo - 1) + kw;
  const xp = padOrCrop(x, { top: g.pads.top, bottom: usedH - h - g.pads.top, left: g.pads.left, right: usedW - w - g.pads.left });
  const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [C, usedH, usedW, N]
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Cout]
  const corr = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', s); // [C, kh, kw, Cout]
  return tf.transpose(corr, [1, 2, 0, 3]);
}

/**
 * dx[q] = Σ_{o,k : s·o + k − pad = q} dy[o] · W[k]ᵀ per axis. Split the padded input positions
 * r = q + pad by phase a = r mod s: with k = s·m + a, r = s·τ + a,
 *   Z_a[τ] = Σ_m dy[τ − m] · W[s·m + a]ᵀ,
 * a stride-1 valid correlation of (suitably padded) dy with the flipped sub-filter W[a::s].
 * The s² phase maps are interleaved and cropped back to the input window.
 */
function inputGradient(dy: tf.Tensor4D, f: tf.Tensor4D, xshape: [number, number, number, number], g: Geometry): tf.Tensor4D {
  const [n, h, w, cin] = xshape;
  const [kh, kw] = f.shape;
  const s = g.stride;
  const rows = phaseRange(h, g.pads.top, s);
  const cols = phaseRange(w, g.pads.left, s);
  const phases: tf.Tensor4D[][] = [];
  for (let a = 0; a < s; a++) {
    const row: tf.Tensor4D[] = [];
    for (let b = 0; b < s; b++) {
      const ka = Math.ceil((kh - a) / s);
      const kb = Math.ceil((kw - b) / s);
      if (ka <= 0 || kb <= 0) {
        row.push(tf.zeros([n, rows.count, cols.count, cin]));
        continue;
      }
      const sub = s === 1 ? f : strided2(f, a, b, s);
      const flipped = tf.transpose(tf.reverse(sub, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [ka, kb, Cout, Cin]
      const top = ka - 1 - rows.first;
      const left = kb - 1 - cols.first;
      const dyp = padOrCrop(dy, {
        top, bottom: rows.count + ka - 1 - g.ho - top,
        left, right: cols.count + kb - 1 - g.wo - left,
      });
      row.push(tf.conv2d(dyp, flipped, 1, 'valid'));
    }
    phases.push(row);
  }
  const full = s === 1 ? phases[0][0] : interleave2(phases); // padded positions [s·first, s·(first+count))
  const offTop = g.pads.top - s * rows.first;
  const offLeft = g.pads.left - s * cols.first;
  return tf.slice(full, [0, offTop, offLeft, 0], [n, h, w, cin]);
}

/** Phase indices τ covering padded positions [pad, pad + size): τ ∈ [first, first + count). */
function phaseRange(size: number, pad: number, s: number): { first: number; count: number } {
  const first = Math.floor(pad / s);
  return { first, count: Math.ceil((pad + size) / s) - first };
}

/** z[a][b] of shape [N, T, U, C] → y[N, 2T, 2U, C] with y[:, 2t+a, 2u+b] = z[a][b][:, t, u]. */
function interleave2(z: tf.Tensor4D[][]): tf.Tensor4D {
  const [n, t, u, c] = z[0][0].shape;
  const rows = z.map((pair) => tf.reshape(tf.stack(pair, 3), [n, t, 2 * u, c]));
  return tf.reshape(tf.stack(rows, 2), [n, 2 * t, 2 * u, c]);
}

function pointwiseForward(x: tf.Tensor4D, f: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const xs = g.stride === 1 ? x : subsample2(x, g.ho, g.wo);
  const [n, , , cin] = x.shape;
  const cout = f.shape[3];
  return tf.reshape(tf.matMul(tf.reshape(xs, [-1, cin]) as tf.Tensor2D, tf.reshape(f, [cin, cout]) as tf.Tensor2D), [n, g.ho, g.wo, cout]);
}

// matMul with transposeA/transposeB runs a slow reference loop on wasm (10–30× slower than a
// transpose followed by a plain matMul), so transposes are explicit.
function pointwiseBackward(dy: tf.Tensor4D, x: tf.Tensor4D, f: tf.Tensor4D, g: Geometry): [tf.Tensor4D, tf.Tensor4D] {
  const [n, h, w, cin] = x.shape;
  const cout = f.shape[3];
  const dy2 = tf.reshape(dy, [-1, cout]) as tf.Tensor2D;
  const xs = g.stride === 1 ? x : subsample2(x, g.ho, g.wo);
  const df = transposedProduct(tf.reshape(xs, [-1, cin]) as tf.Tensor2D, dy2);
  const dxs = tf.reshape(tf.matMul(dy2, tf.transpose(tf.reshape(f, [cin, cout])) as tf.Tensor2D), [n, g.ho, g.wo, cin]) as tf.Tensor4D;
  const dx = g.stride === 1 ? dxs : upsampleZeros2(dxs, h, w);
  return [dx, tf.reshape(df, [1, 1, cin, cout])];
}

/**
 * f[a::s, b::s] of a filter [kh, kw, Cin, Cout], tap by tap: each tap is one contiguous block,
 * which tfjs-wasm slices by a copy (its stridedSlice and gather are per-element loops).
 */
function strided2(f: tf.Tensor4D, a: number, b: number, s: number): tf.Tensor4D {
  const [kh, kw, cin, cout] = f.shape;
  const taps = (from: number, size: number) => Array.from({ length: Math.ceil((size - from) / s) }, (_, i) => from + i * s);
  const tap = (i: number, j: number) => tf.slice(f, [i, j, 0, 0], [1, 1, cin, cout]);
  return tf.concat(taps(a, kh).map((i) => tf.concat(taps(b, kw).map((j) => tap(i, j)), 1)), 0);
}

// tfjs-wasm slices and pads of rank ≤ 4 run row copies; rank 5 and 6 a per-element JS loop
// (a 64² map's subsample took 61 ms). [n, 2·ho, 2·wo, c] is [n·ho, 2, wo, 2c] in memory, so
// the even rows and columns are one rank-4 slice, and their adjoint one rank-4 pad.

/** x[:, ::2, ::2, :] (first ho rows, wo columns). */
function subsample2(x: tf.Tensor4D, ho: number, wo: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const xe = padOrCrop(x, { top: 0, bottom: 2 * ho - h, left: 0, right: 2 * wo - w });
  const x4 = tf.reshape(xe, [n * ho, 2, wo, 2 * c]);
  return tf.reshape(tf.slice(x4, [0, 0, 0, 0], [n * ho, 1, wo, c]), [n, ho, wo, c]);
}

/** Adjoint of subsample2: values at even positions, zeros elsewhere, cropped to h × w. */
function upsampleZeros2(d: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  const [n, ho, wo, c] = d.shape;
  const d4 = tf.pad(tf.reshape(d, [n * ho, 1, wo, c]), [[0, 0], [0, 1], [0, 0], [0, c]]);
  return padOrCrop(tf.reshape(d4, [n, 2 * ho, 2 * wo, c]), { top: 0, bottom: h - 2 * ho, left: 0, right: w - 2 * wo });
}
