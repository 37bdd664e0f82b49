import * as tf from '@tensorflow/tfjs-core';
import type { EncoderArch } from '../config.ts';
import type { ParamRegistry } from '../params.ts';
import { EVAL } from '../layers/context.ts';
import { BatchNorm } from '../layers/norm.ts';
import { Conv2d, kaimingFanOut } from '../layers/conv.ts';

/** `seen`: undefined in eval mode; while calibrating, the number of batches calibrated before. */
interface Block {
  apply(x: tf.Tensor4D, seen?: number): tf.Tensor4D;
}

const frozen = (cout: number, k: number) => ({ init: kaimingFanOut(cout, k), trainable: false });

/**
 * conv → BN → optional ReLU. The encoder is frozen, so BN uses its running statistics, except
 * while they are being calibrated from data (`seen` given).
 */
class ConvBn {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;
  constructor(reg: ParamRegistry, conv: string, bn: string, cin: number, cout: number, k: number, stride: 1 | 2) {
    this.conv = new Conv2d(reg, conv, cin, cout, k, { stride, ...frozen(cout, k) });
    this.bn = new BatchNorm(reg, bn, cout, { trainable: false });
  }
  apply(x: tf.Tensor4D, relu: boolean, seen?: number): tf.Tensor4D {
    return tf.tidy(() => {
      const z = this.conv.apply(x);
      const y = seen === undefined ? this.bn.apply(z, EVAL) : this.bn.calibrate(z, seen);
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
  apply(x: tf.Tensor4D, seen?: number): tf.Tensor4D {
    return tf.tidy(() => {
      const skip = this.down ? this.down.apply(x, false, seen) : x;
      return tf.relu(tf.add(this.b.apply(this.a.apply(x, true, seen), false, seen), skip)) as tf.Tensor4D;
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
  apply(x: tf.Tensor4D, seen?: number): tf.Tensor4D {
    return tf.tidy(() => {
      const skip = this.down ? this.down.apply(x, false, seen) : x;
      return tf.relu(tf.add(this.c.apply(this.b.apply(this.a.apply(x, true, seen), true, seen), false, seen), skip)) as tf.Tensor4D;
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
    return this.run(images);
  }

  /**
   * One batch of BatchNorm calibration: every BN's running statistics become the running mean
   * of the batch statistics seen so far (`seen` batches before this one), as torch's
   * momentum=None does in a train-mode pass. Layers below are normalised by batch statistics.
   */
  calibrate(images: tf.Tensor4D, seen: number): void {
    tf.dispose(this.run(images, seen));
  }

  private run(images: tf.Tensor4D, seen?: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    return tf.tidy(() => {
      let x = tf.maxPool(this.stem.apply(images, true, seen), 3, 2, 1);
      const outs: tf.Tensor4D[] = [];
      for (const blocks of this.layers) {
        for (const b of blocks) x = b.apply(x, seen);
        outs.push(x);
      }
      return outs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    });
  }
}
