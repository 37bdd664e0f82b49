/**
 * Federated averaging on safetensors bytes: float tensors become the sample-weighted mean of
 * the inputs, every other tensor (integer buffers) is taken from the first input. A tensor
 * that is bit-identical in every input (the frozen teacher, its batch-norm statistics) is copied,
 * so averaging never perturbs what no job changed. Works on bytes alone: no tensor backend.
 *
 * @example
 * const merged = averageWeights([{ bytes: a, samples: 160 }, { bytes: b, samples: 80 }]);
 */
import { readSafetensors, writeSafetensors, type SafeTensor } from '@pmamba/model/spec';
import { AverageWeightsError } from './errors.ts';

export interface WeightedWeights {
  bytes: Uint8Array;
  /** Images the weights were trained on: their share of the mean. */
  samples: number;
  /** Names the input in errors (e.g. its store key). */
  source?: string;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function identical(arrays: readonly ArrayLike<number>[]): boolean {
  const first = arrays[0];
  for (let k = 1; k < arrays.length; k++) {
    const other = arrays[k];
    for (let i = 0; i < first.length; i++) if (first[i] !== other[i] && !(Number.isNaN(first[i]) && Number.isNaN(other[i]))) return false;
  }
  return true;
}

/** The sample-weighted mean of several checkpoints of one model; metadata comes from the first. */
export function averageWeights(inputs: readonly WeightedWeights[]): Uint8Array {
  if (inputs.length === 0) throw new AverageWeightsError('nothing to average: no weights given');
  const total = inputs.reduce((s, i) => s + i.samples, 0);
  inputs.forEach((input, k) => {
    if (!(input.samples > 0) || !Number.isFinite(input.samples)) {
      throw new AverageWeightsError(`${input.source ?? `input ${k}`}: samples must be a positive number, got ${input.samples}`);
    }
  });
  const files = inputs.map((input, k) => readSafetensors(input.bytes, input.source ?? `input ${k}`));
  const [first, ...rest] = files;
  const out = new Map<string, SafeTensor>();
  for (const [name, tensor] of first.tensors) {
    const all = [tensor];
    rest.forEach((file, k) => {
      const other = file.tensors.get(name);
      const source = inputs[k + 1].source ?? `input ${k + 1}`;
      if (!other) throw new AverageWeightsError(`${source} has no tensor ${name}, which ${inputs[0].source ?? 'input 0'} has`);
      if (other.dtype !== tensor.dtype || !sameShape(other.shape, tensor.shape)) {
        throw new AverageWeightsError(`${source}: ${name} is ${other.dtype}[${other.shape}], expected ${tensor.dtype}[${tensor.shape}]`);
      }
      all.push(other);
    });
    if ((tensor.dtype !== 'F32' && tensor.dtype !== 'F64') || identical(all.map((t) => t.data as Float32Array | Float64Array))) {
      out.set(name, tensor);
      continue;
    }
    const acc = new Float64Array(tensor.data.length);
    all.forEach((t, k) => {
      const w = inputs[k].samples / total;
      const data = t.data as Float32Array | Float64Array;
      for (let i = 0; i < acc.length; i++) acc[i] += w * data[i];
    });
    out.set(name, { dtype: tensor.dtype, shape: [...tensor.shape], data: tensor.dtype === 'F32' ? Float32Array.from(acc) : acc });
  }
  for (const [k, file] of rest.entries()) {
    const extra = [...file.tensors.keys()].find((name) => !first.tensors.has(name));
    if (extra) throw new AverageWeightsError(`${inputs[k + 1].source ?? `input ${k + 1}`} has a tensor ${extra} that ${inputs[0].source ?? 'input 0'} lacks`);
  }
  return writeSafetensors(out, first.metadata);
}
