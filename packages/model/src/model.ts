import * as tf from '@tensorflow/tfjs-core';
import { checkImageSize, encoderChannels, type ModelConfig } from './config.ts';
import { ParamRegistry } from './params.ts';
import { ResNetEncoder } from './encoder/resnet.ts';
import { BottleneckFusion } from './bottleneck.ts';
import { MambaDecoder } from './decoder.ts';
import { EVAL, type ForwardContext } from './layers/context.ts';
import { initialize } from './init.ts';
import { withScanMode } from './ops/scan/scan-mode.ts';

/** Three NHWC maps at strides 4, 8, 16 (encoder layer1..3 order). */
export type FeatureMaps = [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];

export interface ForwardOutput {
  teacher: FeatureMaps;
  student: FeatureMaps;
}

/**
 * Pyramid-Mamba: frozen ResNet teacher → bottleneck fusion (+ feature noise while training) →
 * CSS/PSS student decoder. Parameter names are the reference's state-dict names.
 */
export class PyramidMamba {
  readonly params = new ParamRegistry();
  readonly encoder: ResNetEncoder;
  readonly bottleneck: BottleneckFusion;
  readonly decoder: MambaDecoder;

  constructor(readonly config: ModelConfig, seed = 0) {
    this.encoder = new ResNetEncoder(this.params, config.encoder);
    this.bottleneck = new BottleneckFusion(this.params, encoderChannels(config.encoder), config.noiseStd);
    this.decoder = new MambaDecoder(this.params, config);
    initialize(this.params, seed);
  }

  /** Teacher features of NHWC images (no gradient is ever needed through them). */
  teacher(images: tf.Tensor4D): FeatureMaps {
    this.checkImages(images);
    return this.encoder.apply(images);
  }

  /**
   * The teacher's stem output (stride 2, 64 channels) of NHWC images: its finest features.
   * `relu: false` gives the BatchNorm's output before the ReLU (class banks restandardise it).
   */
  teacherStem(images: tf.Tensor4D, opts: { relu?: boolean } = {}): tf.Tensor4D {
    this.checkImages(images);
    return this.encoder.stemFeatures(images, opts.relu ?? true);
  }

  private checkImages(images: tf.Tensor4D): void {
    checkImageSize(this.config, images.shape[1]);
    if (images.shape[1] !== images.shape[2] || images.shape[3] !== 3) {
      throw new RangeError(`images must be N×S×S×3 (NHWC), got ${images.shape.join('×')}`);
    }
  }

  /** All four decoder stage outputs, stage 0 (deepest) first, from teacher features. */
  studentStages(teacher: FeatureMaps, ctx: ForwardContext = EVAL): tf.Tensor4D[] {
    // The config's scan mode (kernels or device-resident ops) holds for every SS2D layer below.
    return withScanMode(this.config.scan, () => tf.tidy(() => this.decoder.applyStages(this.bottleneck.apply(teacher, ctx), ctx)));
  }

  /** Student reconstructions in the teacher's order (stride 4, 8, 16). */
  student(teacher: FeatureMaps, ctx: ForwardContext = EVAL): FeatureMaps {
    return tf.tidy(() => {
      const s = this.studentStages(teacher, ctx);
      return [s[3], s[2], s[1]];
    });
  }

  forward(images: tf.Tensor4D, ctx: ForwardContext = EVAL): ForwardOutput {
    return tf.tidy(() => {
      const teacher = this.teacher(images);
      return { teacher, student: this.student(teacher, ctx) };
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** NCHW (numpy/PyTorch users' layout) → NHWC. */
export function nchwToNhwc(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 2, 3, 1]);
}
