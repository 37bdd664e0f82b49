import * as tf from '@tensorflow/tfjs-core';

/**
 * How a tensor is stored in a PyTorch state dict vs in our NHWC tfjs model:
 * - `conv`: torch [O, I/groups, kh, kw] ↔ tfjs [kh, kw, I/groups, O] (depthwise: [kh, kw, C, 1])
 * - `linear`: torch [O, I] ↔ tfjs [I, O]
 * - `plain`: identical.
 */
export type ParamLayout = 'conv' | 'depthwise' | 'linear' | 'plain';

/** How a parameter is initialised in a fresh model (the reference's schemes). */
export type InitSpec =
  | { kind: 'zeros' } | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'truncNormal'; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'dtBias'; min: number; max: number }
  | { kind: 'aLog' };

export interface ParamEntry {
  /** Full state-dict name, e.g. `net_s.layers_up.0.blocks.0.finalconv11.weight`. */
  readonly name: string;
  readonly torchShape: readonly number[];
  readonly layout: ParamLayout;
  /** Buffers (BatchNorm running stats) are saved and loaded but never trained. */
  readonly trainable: boolean;
  readonly init: InitSpec;
  readonly variable: tf.Variable;
}

/** A non-float state-dict entry kept only for round-trips (num_batches_tracked, scan indices). */
export interface IntEntry {
  readonly name: string;
  readonly shape: readonly number[];
  values: BigInt64Array;
}

export function tfjsShape(torchShape: readonly number[], layout: ParamLayout): number[] {
  const s = [...torchShape];
  switch (layout) {
    case 'conv': return [s[2], s[3], s[1], s[0]];
    case 'depthwise': return [s[2], s[3], s[0], s[1]];
    case 'linear': return [s[1], s[0]];
    case 'plain': return s;
  }
}

/** Permutation taking a tfjs-layout tensor to torch layout (its inverse goes back). */
export function toTorchPerm(layout: ParamLayout): number[] | null {
  switch (layout) {
    case 'conv': return [3, 2, 0, 1];
    case 'depthwise': return [2, 3, 0, 1];
    case 'linear': return [1, 0];
    case 'plain': return null;
  }
}

let registries = 0;

/** All named variables of a model, in state-dict order. */
export class ParamRegistry {
  /** tfjs variable names are global: suffix ours with the registry's id. */
  private readonly id = ++registries;
  readonly entries = new Map<string, ParamEntry>();
  readonly ints = new Map<string, IntEntry>();

  /** Declares a float parameter or buffer (zero-filled until initialised or loaded). */
  add(name: string, torchShape: readonly number[], opts: { layout?: ParamLayout; trainable?: boolean; init: InitSpec }): tf.Variable {
    if (this.entries.has(name) || this.ints.has(name)) throw new Error(`parameter ${name} declared twice`);
    const layout = opts.layout ?? 'plain';
    const trainable = opts.trainable ?? true;
    // tf.variable copies its initial value's reference: the zeros must be freed, or every model
    // built leaves a model-sized set of tensors behind.
    const zeros = tf.zeros(tfjsShape(torchShape, layout));
    const variable = tf.variable(zeros, trainable, `${name}@${this.id}`);
    zeros.dispose();
    this.entries.set(name, { name, torchShape, layout, trainable, init: opts.init, variable });
    return variable;
  }

  /** Declares an int64 entry (kept for state-dict round-trips only). */
  addInt(name: string, shape: readonly number[], values: BigInt64Array): IntEntry {
    const e = { name, shape, values };
    this.ints.set(name, e);
    return e;
  }

  get(name: string): tf.Variable {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no parameter named ${name}`);
    return e.variable;
  }

  trainable(): ParamEntry[] {
    return [...this.entries.values()].filter((e) => e.trainable);
  }

  /** Entries whose names start with one of the prefixes. */
  under(...prefixes: string[]): ParamEntry[] {
    return [...this.entries.values()].filter((e) => prefixes.some((p) => e.name.startsWith(p)));
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
    this.ints.clear();
  }
}
