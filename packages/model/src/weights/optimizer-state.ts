/**
 * Trainer state (AdamW moments, step counts, the noise stream's position) as a safetensors
 * file, so a checkpointed job resumes exactly where it stopped. Moments are F32 in the
 * parameters' tfjs layout, named `<param>.exp_avg`, `<param>.exp_avg_sq` and `<param>.step`
 * as torch names its per-parameter state; the counts live in the metadata.
 */
import type { TrainerState } from '../training/trainer.ts';
import type { StateArray } from '../optim/adamw.ts';
import { SafetensorsError } from '../errors.ts';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.ts';

const KIND = 'pmamba.trainer-state';

export function saveTrainerState(state: TrainerState, metadata: Record<string, string> = {}): Uint8Array {
  const tensors = new Map<string, SafeTensor>();
  for (const [name, a] of state.optimizer.arrays) tensors.set(name, { dtype: 'F32', shape: a.shape, data: a.values });
  return writeSafetensors(tensors, {
    ...metadata,
    'pmamba.kind': KIND,
    'pmamba.steps': String(state.steps),
    'pmamba.optimizer_step': String(state.optimizer.step),
    'pmamba.random_calls': String(state.randomCalls),
  });
}

/** Parses `saveTrainerState` output; `source` names the file in errors. */
export function loadTrainerState(bytes: Uint8Array, source = 'trainer state'): TrainerState {
  const file = readSafetensors(bytes, source);
  const m = file.metadata;
  if (m['pmamba.kind'] !== KIND) throw new SafetensorsError(`${source}: not a pmamba trainer state (metadata pmamba.kind is ${JSON.stringify(m['pmamba.kind'] ?? null)})`);
  const count = (key: string): number => {
    const v = Number(m[key]);
    if (!Number.isInteger(v) || v < 0) throw new SafetensorsError(`${source}: metadata ${key} = ${JSON.stringify(m[key] ?? null)} is not a count`);
    return v;
  };
  const arrays = new Map<string, StateArray>();
  for (const [name, t] of file.tensors) {
    if (!(t.data instanceof Float32Array)) throw new SafetensorsError(`${source}: ${name} is ${t.dtype}, optimizer state is F32`);
    // An average of several jobs' states may hold fractional step counts.
    const values = name.endsWith('.step') ? t.data.map(Math.round) : t.data;
    arrays.set(name, { shape: t.shape, values });
  }
  return { steps: count('pmamba.steps'), randomCalls: count('pmamba.random_calls'), optimizer: { step: count('pmamba.optimizer_step'), arrays } };
}
