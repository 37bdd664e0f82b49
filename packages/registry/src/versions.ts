/**
 * Finding and reading versions. A version exists exactly when its version.json does (it is
 * written last), so listings go by those records: the folder of a registration that crashed
 * earlier holds no record and stays invisible.
 */
import { layout, parseModelVersion, type ModelVersion } from '@pmamba/protocol';
import { isStoreError, type ArtifactStore } from '@pmamba/store';
import { RegistryError } from './errors.ts';

/** `<n>` of `<n>/version.json` under a model's versions prefix. */
const RECORD_UNDER_VERSIONS = /^([1-9][0-9]*)\/version\.json$/;

/** The numbers of a model's versions, ascending (none: an empty list). */
export async function versionNumbers(store: ArtifactStore, name: string): Promise<number[]> {
  const prefix = layout.modelVersionsPrefix(name);
  const numbers: number[] = [];
  for (const o of await store.list(prefix)) {
    const m = RECORD_UNDER_VERSIONS.exec(o.key.slice(prefix.length));
    // Built back through layout, so only keys layout itself would build count.
    if (m && Number.isSafeInteger(Number(m[1])) && layout.modelVersionRecordKey(name, Number(m[1])) === o.key) numbers.push(Number(m[1]));
  }
  return numbers.sort((a, b) => a - b);
}

export function modelNotFound(name: string): RegistryError {
  return new RegistryError('E_MODEL_NOT_FOUND', `model ${name}: no version is registered (pmamba models register ${name} --run RUN adds one)`);
}

/** Version n's record; E_VERSION_NOT_FOUND (E_MODEL_NOT_FOUND when the model has none) if it does not exist. */
export async function readVersion(store: ArtifactStore, name: string, n: number): Promise<ModelVersion> {
  const key = layout.modelVersionRecordKey(name, n);
  try {
    return await store.getJson(key, (v) => parseModelVersion(v, key));
  } catch (err) {
    if (!isStoreError(err, 'E_NOT_FOUND')) throw err;
    const numbers = await versionNumbers(store, name);
    if (numbers.length === 0) throw modelNotFound(name);
    throw new RegistryError('E_VERSION_NOT_FOUND', `model ${name} has no version ${n} (versions: ${numbers.join(', ')})`);
  }
}

/** Every version's record, oldest first; E_MODEL_NOT_FOUND when there is none. */
export async function listVersions(store: ArtifactStore, name: string): Promise<ModelVersion[]> {
  const numbers = await versionNumbers(store, name);
  if (numbers.length === 0) throw modelNotFound(name);
  return Promise.all(numbers.map((n) => readVersion(store, name, n)));
}

/** One version's record (`pmamba models show NAME@N`). */
export const showVersion = readVersion;
