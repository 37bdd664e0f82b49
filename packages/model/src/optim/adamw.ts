import * as tf from '@tensorflow/tfjs-core';
import { OptimizerStateError } from '../errors.ts';
import { adamwUpdate } from './adamw-kernel.ts';

export interface AdamWOptions {
  /** Learning rate; `lr` on the optimizer may be changed between steps (a schedule does). */
  lr: number;
  /** Decay rates of the first and second moment estimates. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay: each step first multiplies parameters by (1 − lr·weightDecay). Default 1e-2 (as torch). */
  weightDecay?: number;
}

/** A named trainable tensor. */
export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
}

/** One saved array of optimizer state, with the shape of its parameter. */
export interface StateArray {
  shape: number[];
  values: Float32Array;
}

/**
 * Optimizer state to checkpoint: the number of `step` calls and, per parameter `p` that has
 * taken a step, torch's per-parameter state `p.step` (a scalar), `p.exp_avg` and `p.exp_avg_sq`.
 */
export interface AdamWState {
  step: number;
  arrays: Map<string, StateArray>;
}

/** Per-parameter state, as torch keeps it. */
interface Moments {
  m: tf.Variable;
  v: tf.Variable;
  step: number;
}

/**
 * torch.optim.AdamW (amsgrad off), step for step: with g the gradient and t the step count,
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps).
 * Parameters without a gradient in a step are left alone (no decay, and their own step count t
 * does not advance), as torch skips them.
 *
 * ```ts
 * const opt = new AdamW(registry.trainable(), { lr: 0.005, weightDecay: 1e-4 });
 * const { value, grads } = tf.variableGrads(lossFn);
 * opt.step(grads); tf.dispose([value, ...Object.values(grads)]);
 * ```
 */
export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: NamedVariable[];
  private readonly moments = new Map<string, Moments>();
  private calls = 0;

  /** `params`: a Map name → variable, or named variables (e.g. a ParamRegistry's trainable entries). */
  constructor(params: Map<string, tf.Variable> | readonly NamedVariable[], opts: AdamWOptions) {
    this.params = params instanceof Map ? [...params].map(([name, variable]) => ({ name, variable })) : [...params];
    const names = new Set<string>();
    for (const p of this.params) {
      if (names.has(p.name)) throw new RangeError(`AdamW: parameter ${p.name} is listed twice`);
      names.add(p.name);
    }
    this.lr = opts.lr;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
  }

  /** `step` calls so far. */
  get stepCount(): number {
    return this.calls;
  }

  /**
   * One update from `grads`, keyed by parameter name or by tfjs variable name (what
   * tf.variableGrads returns). The gradients stay owned by the caller. `lr`, when given,
   * becomes the learning rate from this step on.
   */
  step(grads: tf.NamedTensorMap | Map<string, tf.Tensor>, lr?: number): void {
    if (lr !== undefined) this.lr = lr;
    const lookup = grads instanceof Map ? (k: string) => grads.get(k) : (k: string) => grads[k];
    this.calls += 1;
    const decay = 1 - this.lr * this.weightDecay;
    for (const { name, variable } of this.params) {
      const g = lookup(name) ?? lookup(variable.name);
      if (!g) continue;
      if (!tf.util.arraysEqual(g.shape, variable.shape)) {
        throw new RangeError(`AdamW: gradient of ${name} has shape [${g.shape}], the parameter [${variable.shape}]`);
      }
      const state = this.state(name, variable);
      const t = ++state.step;
      const stepSize = this.lr / (1 - this.beta1 ** t);
      const bc2Sqrt = Math.sqrt(1 - this.beta2 ** t);
      tf.tidy(() => {
        const fused = adamwUpdate(variable, g, state.m, state.v, {
          beta1: this.beta1, beta2: this.beta2, eps: this.eps, decay: this.weightDecay === 0 ? 1 : decay, stepSize, bc2Sqrt,
        });
        if (fused) {
          variable.assign(fused[0]);
          state.m.assign(fused[1]);
          state.v.assign(fused[2]);
          return;
        }
        // torch 2 updates m as lerp(m, g, 1 − β1) = m + (1 − β1)·(g − m), torch 1.x as
        // β1·m + (1 − β1)·g: equal up to float32 rounding.
        const m = tf.add(state.m, tf.mul(tf.sub(g, state.m), 1 - this.beta1));
        const v = tf.add(tf.mul(state.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), this.eps);
        const decayed = this.weightDecay === 0 ? variable : tf.mul(variable, decay);
        variable.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
        state.m.assign(m);
        state.v.assign(v);
      });
    }
  }

  /** Copies of the state, for a checkpoint. */
  exportState(): AdamWState {
    const arrays = new Map<string, StateArray>();
    for (const [name, { m, v, step }] of this.moments) {
      arrays.set(`${name}.step`, { shape: [], values: Float32Array.of(step) });
      arrays.set(`${name}.exp_avg`, { shape: [...m.shape], values: m.dataSync().slice() as Float32Array });
      arrays.set(`${name}.exp_avg_sq`, { shape: [...v.shape], values: v.dataSync().slice() as Float32Array });
    }
    return { step: this.calls, arrays };
  }

  /**
   * Restores a state from `exportState` (or a checkpoint). Every array must name a parameter of
   * this optimizer with its shape; parameters absent from the state start from zero moments;
   * a parameter without `p.step` takes the state's `step`.
   */
  importState(state: AdamWState): void {
    const byName = new Map(this.params.map((p) => [p.name, p.variable]));
    const problems: string[] = [];
    const incoming = new Map<string, { m?: StateArray; v?: StateArray; step?: number }>();
    for (const [key, arr] of state.arrays) {
      const match = /^(.*)\.(exp_avg|exp_avg_sq|step)$/.exec(key);
      const variable = match ? byName.get(match[1]) : undefined;
      if (!match || !variable) {
        problems.push(`${key}: no such parameter`);
        continue;
      }
      const entry = incoming.get(match[1]) ?? {};
      incoming.set(match[1], entry);
      if (match[2] === 'step') {
        if (arr.values.length !== 1 || !Number.isInteger(arr.values[0]) || arr.values[0] < 0) problems.push(`${key}: not a step count`);
        else entry.step = arr.values[0];
        continue;
      }
      if (!tf.util.arraysEqual(arr.shape, variable.shape) || arr.values.length !== variable.size) {
        problems.push(`${key}: shape [${arr.shape}] (${arr.values.length} values), parameter [${variable.shape}]`);
        continue;
      }
      if (match[2] === 'exp_avg') entry.m = arr;
      else entry.v = arr;
    }
    for (const [name, e] of incoming) if (!e.m || !e.v) problems.push(`${name}: needs both exp_avg and exp_avg_sq`);
    if (!Number.isInteger(state.step) || state.step < 0) problems.push(`step: ${state.step} is not a step count`);
    if (problems.length) throw new OptimizerStateError(`AdamW state does not fit the model:\n  ${problems.join('\n  ')}`);
    this.disposeMoments();
    for (const [name, { m, v, step }] of incoming) {
      const variable = byName.get(name)!;
      this.moments.set(name, tf.tidy(() => ({
        m: tf.variable(tf.tensor(m!.values, variable.shape), false),
        v: tf.variable(tf.tensor(v!.values, variable.shape), false),
        step: step ?? state.step,
      })));
    }
    this.calls = state.step;
  }

  /** Frees the moment estimates (the parameters belong to the model). */
  dispose(): void {
    this.disposeMoments();
  }

  private disposeMoments(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }

  private state(name: string, variable: tf.Variable): Moments {
    let s = this.moments.get(name);
    if (!s) {
      s = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(variable), false), v: tf.variable(tf.zerosLike(variable), false), step: 0 }));
      this.moments.set(name, s);
    }
    return s;
  }
}
