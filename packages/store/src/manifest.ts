/**
 * Manifest entries: the key, size and recorded sha256 of stored objects, as a manifest cites them
 * (the run and round manifests themselves are @pmamba/protocol's RunManifest and RoundManifest).
 */
import type { ArtifactStore, StoredObject } from './artifact-store.ts';
import { StoreError } from './errors.ts';

export type ManifestEntry = StoredObject;

/** Objects looked up at once (mapLimit). */
const PARALLEL = 8;

export async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

/** Size and recorded sha256 of each key, for citing in a manifest. E_NOT_FOUND / E_HASH_MISSING. */
export async function describeArtifacts(store: ArtifactStore, keys: readonly string[]): Promise<ManifestEntry[]> {
  return mapLimit(keys, async (key) => {
    const info = await store.head(key);
    if (!info) throw new StoreError('E_NOT_FOUND', `no object "${key}" in ${store.url} to list in a manifest`, key);
    if (!info.sha256) {
      throw new StoreError('E_HASH_MISSING', `object "${key}" in ${store.url} has no recorded sha256, so a manifest cannot cite it`, key);
    }
    return { key, size: info.size, sha256: info.sha256 };
  });
}

