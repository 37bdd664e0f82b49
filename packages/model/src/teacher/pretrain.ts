/**
 * Self-supervised teacher pretraining: the ResNet encoder learns, from the run's normal training
 * images alone, to segment synthetic defects painted into them (pretext-defects.ts). A small head
 * reads all three encoder stages, so every stage the student will reconstruct learns to respond
 * to what is locally out of place. The head is thrown away afterwards; the encoder's BatchNorm
 * statistics are then calibrated on clean images (the student only ever sees those).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PyramidMamba } from '../model.ts';
import { ParamRegistry } from '../params.ts';
import { AdamW, type NamedVariable } from '../optim/adamw.ts';
import { clipGradNorm } from '../optim/clip-grad-norm.ts';
import { initialize } from '../init.ts';
import { encoderChannels } from '../config.ts';
import { matMul } from '../ops/matmul.ts';
import { pretextDefects } from './pretext-defects.ts';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../weights/safetensors.ts';
import { exportStateDict, importEncoderStateDict as importEncoderWeights, importStateDict } from '../weights/state-dict.ts';
import { loadTrainerState, saveTrainerState } from '../weights/optimizer-state.ts';
import { teacherTensors } from '../weights/teacher-export.ts';
import { nchwToNhwc } from '../model.ts';

export interface PretrainOptions {
  /** AdamW learning rate. Default 1e-3. */
  lr?: number;
  /** AdamW weight decay. Default 1e-4. */
  weightDecay?: number;
  /** Seed of the head's initialisation and of the defects. Default 0. */
  seed?: number;
  /** Share of images per batch that get a defect. Default 0.5. */
  defectRate?: number;
  /** Encoder stages left at their initialisation: 0 trains all, 1 keeps the stem, 2 also layer1, … Default 0. */
  frozenStages?: number;
}

export interface PretrainStep {
  step: number;
  loss: number;
}

const HEAD_WIDTH = 32;
const HEAD_PREFIX = 'pretext_head.';
/** Parameter name prefixes of the encoder's stages, input first. */
const FROZEN_PREFIXES = [['net_t.conv1.', 'net_t.bn1.'], ['net_t.layer1.'], ['net_t.layer2.'], ['net_t.layer3.']];

/** 1×1 conv of NHWC x by a [cin, cout] matrix. */
function pointwise(x: tf.Tensor4D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor4D {
  const [n, h, wd, c] = x.shape;
  return tf.reshape(tf.add(matMul(tf.reshape(x, [n * h * wd, c]), w), b), [n, h, wd, w.shape[1]]);
}

export class TeacherPretrainer {
  private readonly head = new ParamRegistry();
  private readonly proj: { w: tf.Variable; b: tf.Variable }[];
  private readonly out: { w: tf.Variable; b: tf.Variable };
  private readonly optimizer: AdamW;
  private readonly trained: NamedVariable[];
  private steps = 0;

  constructor(private readonly model: PyramidMamba, private readonly opts: PretrainOptions = {}) {
    const chans = encoderChannels(model.config.encoder);
    this.proj = chans.map((c, i) => ({
      w: this.head.add(`proj${i}.weight`, [HEAD_WIDTH, c], { layout: 'linear', init: { kind: 'normal', std: Math.sqrt(2 / c) } }),
      b: this.head.add(`proj${i}.bias`, [HEAD_WIDTH], { init: { kind: 'zeros' } }),
    }));
    this.out = {
      w: this.head.add('out.weight', [1, 3 * HEAD_WIDTH], { layout: 'linear', init: { kind: 'normal', std: Math.sqrt(1 / (3 * HEAD_WIDTH)) } }),
      b: this.head.add('out.bias', [1], { init: { kind: 'zeros' } }),
    };
    initialize(this.head, opts.seed ?? 0);
    const frozen = FROZEN_PREFIXES.slice(0, opts.frozenStages ?? 0).flat();
    const encoder = model.params
      .under('net_t.')
      .filter((e) => !/running_(mean|var)$/.test(e.name) && !frozen.some((p) => e.name.startsWith(p)));
    this.trained = [...encoder, ...this.head.entries.values()].map((e) => ({ name: e.name, variable: e.variable }));
    this.optimizer = new AdamW(this.trained, { lr: opts.lr ?? 1e-3, weightDecay: opts.weightDecay ?? 1e-4 });
  }

  /**
   * One step on `n` clean images (N×3×S×S CHW floats); `pool` (m images) supplies foreign
   * content for the defects.
   */
  step(images: Float32Array, n: number, size: number, pool: Float32Array, m: number): PretrainStep {
    const seed = ((this.opts.seed ?? 0) * 7919 + this.steps * 104729 + 17) >>> 0;
    const batch = pretextDefects(images, n, size, pool, m, seed, { defectRate: this.opts.defectRate });
    const vars = this.trained.map((t) => t.variable);
    const frozen = vars.filter((v) => !v.trainable);
    for (const v of frozen) v.trainable = true;
    let loss = 0;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const x = nchwToNhwc(tf.tensor4d(batch.images, [n, 3, size, size]));
        const logits = this.logits(this.model.encoder.train(x));
        const side = logits.shape[1];
        const target = tf.avgPool(tf.tensor4d(batch.masks, [n, size, size, 1]), size / side, size / side, 0) as tf.Tensor4D;
        return segmentationLoss(logits, target);
      }, vars);
      loss = value.dataSync()[0];
      value.dispose();
      const named = new Map(this.trained.map((t) => [t.name, grads[t.variable.name]]));
      // Clipping replaces (and frees) the gradients it scales: dispose what the map holds.
      clipGradNorm(named, 5);
      this.optimizer.step(named, this.opts.lr ?? 1e-3);
      tf.dispose([...named.values()]);
    } finally {
      for (const v of frozen) v.trainable = false;
    }
    this.steps++;
    return { step: this.steps, loss };
  }

  /** Defect logits at the first stage's resolution (stride 4), N×S/4×S/4×1. */
  private logits(feats: [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]): tf.Tensor4D {
    const [, h, w] = feats[0].shape;
    const parts = feats.map((f, i) => {
      const p = tf.relu(pointwise(f, this.proj[i].w as tf.Tensor2D, this.proj[i].b as tf.Tensor1D));
      return i === 0 ? p : tf.image.resizeBilinear(p, [h, w]);
    });
    return pointwise(tf.concat(parts, 3) as tf.Tensor4D, this.out.w as tf.Tensor2D, this.out.b as tf.Tensor1D);
  }

  get stepCount(): number {
    return this.steps;
  }

  /**
   * Everything a resumed pretraining needs: encoder and head weights (one safetensors file,
   * the encoder under torchvision names, the head under `pretext_head.`), and the optimiser
   * state with the step count. Defects are drawn from (seed, step), so a resumed run continues
   * exactly.
   */
  saveState(metadata: Record<string, string> = {}): { weights: Uint8Array; trainer: Uint8Array } {
    const tensors = teacherTensors(this.model);
    for (const [name, t] of exportStateDict(this.head)) tensors.set(`${HEAD_PREFIX}${name}`, t);
    const weights = writeSafetensors(tensors, metadata);
    const trainer = saveTrainerState({ steps: this.steps, optimizer: this.optimizer.exportState(), randomCalls: 0 }, metadata);
    return { weights, trainer };
  }

  /** Continues from `saveState()` output taken on a pretrainer of the same model config. */
  restore(weights: Uint8Array, trainer: Uint8Array, source = 'teacher checkpoint'): void {
    const file = readSafetensors(weights, source);
    const encoder = new Map<string, SafeTensor>();
    const head = new Map<string, SafeTensor>();
    for (const [name, t] of file.tensors) {
      if (name.startsWith(HEAD_PREFIX)) head.set(name.slice(HEAD_PREFIX.length), t);
      else encoder.set(name, t);
    }
    importEncoderWeights(this.model.params, encoder, source);
    importStateDict(this.head, head, source);
    const state = loadTrainerState(trainer, source);
    this.optimizer.importState(state.optimizer);
    this.steps = state.steps;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.head.dispose();
  }
}

/**
 * Re-estimates the encoder's BatchNorm statistics on `n` clean images (N×3×S×S CHW floats), in
 * batches of `batchSize`: the running mean of every batch's statistics (torch momentum=None).
 */
export function calibrateEncoder(model: PyramidMamba, images: Float32Array, n: number, size: number, batchSize = 32): number {
  const plane = 3 * size * size;
  let seen = 0;
  for (let at = 0; at < n; at += batchSize) {
    const k = Math.min(batchSize, n - at);
    const x = tf.tidy(() => nchwToNhwc(tf.tensor4d(images.subarray(at * plane, (at + k) * plane), [k, 3, size, size])));
    model.encoder.calibrate(x, seen++);
    x.dispose();
  }
  return seen;
}

/** Binary cross-entropy on logits plus soft Dice: defects cover a few % of the pixels. */
function segmentationLoss(logits: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const bce = tf.mean(tf.sub(tf.add(tf.relu(logits), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))), tf.mul(logits, target)));
    const p = tf.sigmoid(logits);
    const inter = tf.sum(tf.mul(p, target));
    const dice = tf.sub(1, tf.div(tf.add(tf.mul(2, inter), 1), tf.add(tf.add(tf.sum(p), tf.sum(target)), 1)));
    return tf.add(bce, dice) as tf.Scalar;
  });
}
