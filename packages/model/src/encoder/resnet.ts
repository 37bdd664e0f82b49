import * as tf from '@tensorflow/tfjs-core';
import type { EncoderArch } from '../config.ts';
import type { ParamRegistry } from '../params.ts';
import { EVAL, type ForwardContext } from '../layers/context.ts';

const TRAINING: ForwardContext = { training: true };
import { BatchNorm } from '../layers/norm.ts';
import { Conv2d, kaimingFanOut } from '../layers/conv.ts';

/**
 * How the encoder's BatchNorms normalise: `eval` with their running statistics (the frozen
 * teacher); `calibrate` re-estimates the running statistics from data (`seen` batches came before
 * this one); `train` uses batch statistics and updates the running ones as torch does (teacher
 * pretraining, where the convolutions are trained too).
 */
export type BnMode = { kind: 'eval' } | { kind: 'calibrate'; seen: number } | { kind: 'train' };
const EVAL_BN: BnMode = { kind: 'eval' };
const TRAIN_BN: BnMode = { kind: 'train' };

interface Block {
  apply(x: tf.Tensor4D, mode: BnMode): tf.Tensor4D;
}

const frozen = (cout: number, k: number) => ({ init: kaimingFanOut(cout, k), trainable: false });

/** conv → BN → optional ReLU. */
class ConvBn {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;
  constructor(reg: ParamRegistry, conv: string, bn: string, cin: number, cout: number, k: number, stride: 1 | 2) {
    this.conv = new Conv2d(reg, conv, cin, cout, k, { stride, ...frozen(cout, k) });
    this.bn = new BatchNorm(reg, bn, cout, { trainable: false });
  }
  apply(x: tf.Tensor4D, relu: boolean, mode: BnMode): tf.Tensor4D {
    return tf.tidy(() => {
      const z = this.conv.apply(x);
      const y =
        mode.kind === 'calibrate' ? this.bn.calibrate(z, mode.seen) : this.bn.apply(z, mode.kind === 'train' ? TRAINING : EVAL);
      return relu ? tf.relu(y) : y;
    });
  }
}

/** torchvision BasicBlock (ResNet18/34). */
class BasicBlock implements Block {
  static readonly expansion = 1;
  private readonly a: ConvBn;
  private readonly b: ConvBn;
  private readonly down?: ConvBn;
  constructor(reg: ParamRegistry, p: string, cin: number, planes: number, stride: 1 | 2) {
    this.a = new ConvBn(reg, `${p}.conv1`, `${p}.bn1`, cin, planes, 3, stride);
    this.b = new ConvBn(reg, `${p}.conv2`, `${p}.bn2`, planes, planes, 3, 1);
    if (stride !== 1 || cin !== planes) this.down = new ConvBn(reg, `${p}.downsample.0`, `${p}.downsample.1`, cin, planes, 1, stride);
  }
  apply(x: tf.Tensor4D, mode: BnMode): tf.Tensor4D {
    return tf.tidy(() => {
      const skip = this.down ? this.down.apply(x, false, mode) : x;
      return tf.relu(tf.add(this.b.apply(this.a.apply(x, true, mode), false, mode), skip)) as tf.Tensor4D;
    });
  }
}

/** torchvision Bottleneck (ResNet50, WideResNet50-2: width = planes · widthFactor). */
class BottleneckBlock implements Block {
  static readonly expansion = 4;
  private readonly a: ConvBn;
  private readonly b: ConvBn;
  private readonly c: ConvBn;
  private readonly down?: ConvBn;
  constructor(reg: ParamRegistry, p: string, cin: number, planes: number, stride: 1 | 2, widthFactor: number) {
    const width = planes * widthFactor;
    const out = planes * BottleneckBlock.expansion;
    this.a = new ConvBn(reg, `${p}.conv1`, `${p}.bn1`, cin, width, 1, 1);
    this.b = new ConvBn(reg, `${p}.conv2`, `${p}.bn2`, width, width, 3, stride);
    this.c = new ConvBn(reg, `${p}.conv3`, `${p}.bn3`, width, out, 1, 1);
    if (stride !== 1 || cin !== out) this.down = new ConvBn(reg, `${p}.downsample.0`, `${p}.downsample.1`, cin, out, 1, stride);
  }
  apply(x: tf.Tensor4D, mode: BnMode): tf.Tensor4D {
    return tf.tidy(() => {
      const skip = this.down ? this.down.apply(x, false, mode) : x;
      return tf.relu(tf.add(this.c.apply(this.b.apply(this.a.apply(x, true, mode), true, mode), false, mode), skip)) as tf.Tensor4D;
    });
  }
}

const LAYOUT: Record<EncoderArch, { blocks: [number, number, number]; bottleneck: boolean; widthFactor: number }> = {
  resnet18: { blocks: [2, 2, 2], bottleneck: false, widthFactor: 1 },
  resnet34: { blocks: [3, 4, 6], bottleneck: false, widthFactor: 1 },
  resnet50: { blocks: [3, 4, 6], bottleneck: true, widthFactor: 1 },
  wide_resnet50_2: { blocks: [3, 4, 6], bottleneck: true, widthFactor: 2 },
};

/**
 * The frozen teacher: ResNet stem + layer1..layer3 (timm features_only out_indices 1,2,3),
 * parameters named as torchvision/timm under `prefix` (the reference uses `net_t.`).
 * NHWC in, three NHWC maps out at strides 4, 8, 16.
 */
export class ResNetEncoder {
  private readonly stem: ConvBn;
  private readonly layers: Block[][] = [];

  constructor(reg: ParamRegistry, readonly arch: EncoderArch, prefix = 'net_t.') {
    const spec = LAYOUT[arch];
    this.stem = new ConvBn(reg, `${prefix}conv1`, `${prefix}bn1`, 3, 64, 7, 2);
    let cin = 64;
    spec.blocks.forEach((n, li) => {
      const planes = 64 * 2 ** li;
      const blocks: Block[] = [];
      for (let b = 0; b < n; b++) {
        const name = `${prefix}layer${li + 1}.${b}`;
        const stride: 1 | 2 = b === 0 && li > 0 ? 2 : 1;
        if (spec.bottleneck) {
          blocks.push(new BottleneckBlock(reg, name, cin, planes, stride, spec.widthFactor));
          cin = planes * BottleneckBlock.expansion;
        } else {
          blocks.push(new BasicBlock(reg, name, cin, planes, stride));
          cin = planes;
        }
      }
      this.layers.push(blocks);
    });
  }

  apply(images: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    return this.run(images, EVAL_BN);
  }

  /** The stem's output (7×7 convolution, BatchNorm, ReLU unless `relu` is false; stride 2), before the max-pool. */
  stemFeatures(images: tf.Tensor4D, relu = true): tf.Tensor4D {
    return this.stem.apply(images, relu, EVAL_BN);
  }

  /** Training-mode forward (batch-statistics BatchNorm), for pretraining the encoder itself. */
  train(images: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    return this.run(images, TRAIN_BN);
  }

  /**
   * One batch of BatchNorm calibration: every BN's running statistics become the running mean
   * of the batch statistics seen so far (`seen` batches before this one), as torch's
   * momentum=None does in a train-mode pass. Layers below are normalised by batch statistics.
   */
  calibrate(images: tf.Tensor4D, seen: number): void {
    tf.dispose(this.run(images, { kind: 'calibrate', seen }));
  }

  private run(images: tf.Tensor4D, mode: BnMode): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    return tf.tidy(() => {
      let x = tf.maxPool(this.stem.apply(images, true, mode), 3, 2, 1);
      const outs: tf.Tensor4D[] = [];
      for (const blocks of this.layers) {
        for (const b of blocks) x = b.apply(x, mode);
        outs.push(x);
      }
      return outs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    });
  }
}
