import * as tf from '@tensorflow/tfjs-core';
import type { PyramidMamba } from '../model.ts';
import type { ParamEntry } from '../params.ts';
import { seededRandom } from '../rng.ts';
import { AdamW, type AdamWState } from '../optim/adamw.ts';
import { clipGradNorm } from '../optim/clip-grad-norm.ts';
import { StepLr } from '../optim/lr-schedule.ts';
import { reconstructionLoss } from './loss.ts';

export interface TrainerOptions {
  /** Base learning rate. Reference: 0.005 · batch / 16. */
  lr: number;
  /** AdamW decoupled weight decay. Default 1e-4. */
  weightDecay?: number;
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Max total gradient L2 norm (0 disables). Default 5. */
  clipNorm?: number;
  /** Steps at which the lr is multiplied by `gamma`. Default none. */
  milestones?: number[];
  /** Default 0.1. */
  gamma?: number;
  /** Seed of the feature noise and stochastic depth streams. */
  seed?: number;
  /**
   * Largest number of images per forward/backward pass; bigger batches accumulate gradients
   * over slices (BatchNorm then sees slice statistics). Default: the whole batch. At 256² the
   * wasm backend's 4 GiB heap holds one image of the reference model.
   */
  microBatch?: number;
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  lr: number;
  step: number;
}

/**
 * One optimisation step at a time over a model's trainable parameters (bottleneck + decoder):
 * the teacher runs outside the gradient tape; loss = 5·Σ MSE; grad-norm clip; AdamW.
 */
export class Trainer {
  private readonly entries: ParamEntry[];
  private readonly optimizer: AdamW;
  private readonly schedule: StepLr;
  private readonly clipNorm: number;
  private readonly microBatch: number;
  private random;
  private steps = 0;

  constructor(readonly model: PyramidMamba, opts: TrainerOptions) {
    this.entries = model.params.trainable().filter((e) => !e.name.startsWith('net_t.'));
    this.optimizer = new AdamW(this.entries.map((e) => ({ name: e.name, variable: e.variable })), {
      lr: opts.lr,
      weightDecay: opts.weightDecay ?? 1e-4,
      betas: opts.betas ?? [0.9, 0.999],
    });
    this.schedule = new StepLr(opts.lr, opts.milestones ?? [], opts.gamma ?? 0.1);
    this.clipNorm = opts.clipNorm ?? 5;
    this.microBatch = opts.microBatch ?? Infinity;
    this.random = seededRandom(opts.seed ?? 0);
  }

  /** Trains on one batch of NHWC normalised images. */
  step(images: tf.Tensor4D): StepResult {
    const lr = this.schedule.at(this.steps);
    const n = images.shape[0];
    const slice = Math.min(n, this.microBatch);
    let named = new Map<string, tf.Tensor>();
    let loss = 0;
    for (let at = 0; at < n; at += slice) {
      const m = Math.min(slice, n - at);
      const part = m === n ? images : tf.slice(images, [at, 0, 0, 0], [m, -1, -1, -1]);
      const { value, grads } = this.sliceGrads(part);
      if (part !== images) part.dispose();
      loss += (value.dataSync()[0] * m) / n;
      value.dispose();
      // The loss is a mean over images: slices contribute in proportion to their size.
      const w = m / n;
      named = new Map(this.entries.map((e) => {
        const g = grads[e.variable.name];
        const prev = named.get(e.name);
        const next = tf.tidy(() => (prev ? tf.add(prev, tf.mul(g, w)) : w === 1 ? tf.clone(g) : tf.mul(g, w)));
        prev?.dispose();
        return [e.name, next];
      }));
      tf.dispose(Object.values(grads));
    }
    const gradNorm = this.clipNorm > 0 ? clipGradNorm(named, this.clipNorm) : NaN;
    this.optimizer.step(named, lr);
    for (const g of named.values()) g.dispose();
    this.steps++;
    return { loss, gradNorm, lr, step: this.steps };
  }

  private sliceGrads(images: tf.Tensor4D): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    const teacher = this.model.teacher(images);
    const out = tf.variableGrads(() => {
      const student = this.model.student(teacher, { training: true, random: this.random });
      return reconstructionLoss(teacher, student);
    }, this.entries.map((e) => e.variable));
    tf.dispose(teacher);
    return out;
  }

  /** Loss of a batch without training (eval-mode forward). */
  evalLoss(images: tf.Tensor4D): number {
    return tf.tidy(() => {
      const teacher = this.model.teacher(images);
      return reconstructionLoss(teacher, this.model.student(teacher));
    }).dataSync()[0];
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Optimizer state for checkpoints, so a resumed run continues exactly. */
  state(): TrainerState {
    return { steps: this.steps, optimizer: this.optimizer.exportState(), randomCalls: this.random.calls };
  }

  /**
   * Continues from a `state()` taken earlier (on this model's weights as they were then): the
   * step count (so the lr schedule), AdamW's moments and, when given, the position in the noise
   * and drop-path stream.
   */
  restore(state: Omit<TrainerState, 'randomCalls'> & { randomCalls?: number }): void {
    this.optimizer.importState(state.optimizer);
    this.steps = state.steps;
    if (state.randomCalls !== undefined) this.random.advance(state.randomCalls - this.random.calls);
  }

  /** Frees the optimizer's moments (the parameters belong to the model). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

export interface TrainerState {
  steps: number;
  optimizer: AdamWState;
  randomCalls: number;
}
