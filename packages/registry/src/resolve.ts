/** From a user's `NAME` or `NAME@N` to a version and its weights (`pmamba predict --model`). */
import { layout, type ModelVersion } from '@pmamba/protocol';
import { sha256, type ArtifactStore } from '@pmamba/store';
import { readChampion } from './champion.ts';
import { RegistryError } from './errors.ts';
import { parseModelRef } from './model-ref.ts';
import { modelNotFound, readVersion, versionNumbers } from './versions.ts';

/** The version `ref` names: NAME@N, or NAME's champion. */
export async function resolveModel(store: ArtifactStore, ref: string): Promise<ModelVersion> {
  const { name, version } = parseModelRef(ref);
  if (version !== undefined) return readVersion(store, name, version);
  const champion = await readChampion(store, name);
  if (champion?.champion == null) {
    const numbers = await versionNumbers(store, name);
    if (numbers.length === 0) throw modelNotFound(name);
    throw new RegistryError('E_NO_CHAMPION', `model ${name} has no champion; name a version (${name}@${numbers.at(-1)}) or promote one (pmamba models promote ${name}@N)`);
  }
  return readVersion(store, name, champion.champion);
}

/**
 * The bytes of one of a version's weights (`unified`, or a class in per-class mode), checked
 * against the sha256 its record lists.
 */
export async function readVersionWeights(store: ArtifactStore, version: ModelVersion, model: string = layout.UNIFIED_MODEL): Promise<Uint8Array> {
  const ref = version.weights[model];
  const label = `${version.name}@${version.number}`;
  if (!ref) {
    throw new RegistryError('E_WEIGHTS_NOT_FOUND', `${label} holds no ${model} weights (it has: ${Object.keys(version.weights).join(', ')})`);
  }
  if (ref.key !== layout.modelVersionWeightsKey(version.name, version.number, model)) {
    throw new RegistryError('E_WEIGHTS_MISMATCH', `${label}: its record lists ${model} weights at ${ref.key}, outside the version's folder`);
  }
  const bytes = await store.getBytes(ref.key);
  if (sha256(bytes) !== ref.sha256) {
    throw new RegistryError('E_WEIGHTS_MISMATCH', `${ref.key} is not the file ${label} registered (sha256 ${sha256(bytes)}, recorded ${ref.sha256})`);
  }
  return bytes;
}
