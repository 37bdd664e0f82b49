import * as tf from '@tensorflow/tfjs-core';
import { type ConvPad, convOutSize, explicitPadding, padOrCrop, resolvePads } from './conv-padding.ts';

/**
 * Depthwise 2-D convolution (nn.Conv2d with groups = channels, stride 1) on NHWC with PyTorch's
 * padding, and a gradient from kernels every backend has (wasm has no
 * DepthwiseConv2dNativeBackpropInput/Filter):
 * - input gradient: a depthwise convolution of dy with the flipped filter;
 * - filter gradient: one depthwise convolution over channels (n, c) of the transposed input
 *   ([1, H, W, N·C]) with the transposed dy ([Ho, Wo, N·C, 1]) as filter, summed over n.
 *
 * ```ts
 * const y = depthwiseConv2d(x, w, 3, b); // nn.Conv2d(c, c, 7, padding=3, groups=c)(x)
 * ```
 * @param x [N, H, W, C]
 * @param filter [kh, kw, C, 1]
 * @param pad PyTorch padding: pixels on every side, `'valid'` or `'same'`
 * @param bias [C]
 */
export function depthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, pad: ConvPad = 0, bias?: tf.Tensor1D): tf.Tensor4D {
  const [kh, kw, c, mult] = filter.shape;
  if (x.rank !== 4 || filter.rank !== 4) throw new RangeError(`depthwiseConv2d: x must be [N,H,W,C] and filter [kh,kw,C,1]; got ${x.shape} and ${filter.shape}`);
  if (mult !== 1) throw new RangeError(`depthwiseConv2d: channel multiplier must be 1 (filter [kh,kw,C,1]); got filter ${filter.shape}`);
  if (x.shape[3] !== c) throw new RangeError(`depthwiseConv2d: x has ${x.shape[3]} channels but the filter has ${c} (filter ${filter.shape})`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== c)) throw new RangeError(`depthwiseConv2d: bias must be [${c}]; got ${bias.shape}`);
  const pads = resolvePads(pad, kh, kw, 1, 'depthwiseConv2d');
  const [n, h, w] = x.shape;
  const ho = convOutSize(h, kh, 1, pads.top, pads.bottom);
  const wo = convOutSize(w, kw, 1, pads.left, pads.right);
  if (ho < 1 || wo < 1) throw new RangeError(`depthwiseConv2d: a ${kh}×${kw} filter does not fit a ${h}×${w} input with padding ${JSON.stringify(pads)}`);

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, fi, bi] = args.slice(0, -1) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D?];
    save([xi, fi]);
    const y = tf.depthwiseConv2d(xi, fi, 1, explicitPadding(pads));
    return {
      value: (bi ? tf.add(y, bi) : y) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => tf.tidy(() => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        // dx[q] = Σ_k dy[q + pad − k]·W[k]: a correlation of dy, padded so the output is h × w, with W flipped.
        const dyp = padOrCrop(dy, {
          top: kh - 1 - pads.top, bottom: h - ho + pads.top,
          left: kw - 1 - pads.left, right: w - wo + pads.left,
        });
        const dx = tf.depthwiseConv2d(dyp, tf.reverse(fs, [0, 1]) as tf.Tensor4D, 1, 'valid');
        // dW[i,j,c] = Σ_{n,y,x} xpad[n, y+i, x+j, c]·dy[n,y,x,c]: channels (n, c), summed over n.
        const usedH = ho + kh - 1;
        const usedW = wo + kw - 1;
        const xp = padOrCrop(xs, { top: pads.top, bottom: usedH - h - pads.top, left: pads.left, right: usedW - w - pads.left });
        const xt = tf.reshape(tf.transpose(xp, [1, 2, 0, 3]), [1, usedH, usedW, n * c]) as tf.Tensor4D;
        const dyt = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [ho, wo, n * c, 1]) as tf.Tensor4D;
        const corr = tf.depthwiseConv2d(xt, dyt, 1, 'valid'); // [1, kh, kw, N·C]
        const df = tf.reshape(tf.sum(tf.reshape(corr, [kh, kw, n, c]), 2), [kh, kw, c, 1]);
        const grads: tf.Tensor[] = [dx, df];
        if (bi) grads.push(tf.sum(dy, [0, 1, 2]));
        return grads;
      }),
    };
  });
  return (bias ? op(x, filter, bias) : op(x, filter)) as tf.Tensor4D;
}
