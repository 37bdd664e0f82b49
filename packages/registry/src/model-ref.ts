/** `NAME` (the champion) or `NAME@N` (version N): how users name a registered model. */
import { ID_PATTERN } from '@pmamba/protocol';
import { RegistryError } from './errors.ts';

export interface ModelRef {
  name: string;
  /** Absent: the champion. */
  version?: number;
}

export function parseModelRef(ref: string): ModelRef {
  const m = /^([^@]*)(?:@(.*))?$/.exec(ref);
  const name = m?.[1] ?? '';
  const n = m?.[2];
  if (!ID_PATTERN.test(name)) {
    throw new RegistryError('E_MODEL_REF', `model ${JSON.stringify(ref)}: expected NAME or NAME@N, NAME 1-128 letters, digits, '_' or '-'`);
  }
  if (n === undefined) return { name };
  if (!/^[1-9][0-9]*$/.test(n) || !Number.isSafeInteger(Number(n))) {
    throw new RegistryError('E_MODEL_REF', `model ${JSON.stringify(ref)}: the version after '@' must be a positive integer, e.g. ${name}@3`);
  }
  return { name, version: Number(n) };
}
