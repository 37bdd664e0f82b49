/**
 * Manifests as the store tests use them: a JSON object listing keys with their sizes and hashes,
 * written after every object it lists. A group of artifacts counts as complete exactly when its
 * manifest exists, and a reader can check that nothing it lists was lost or replaced since.
 * (Runs write @pmamba/protocol's RunManifest and RoundManifest, with describeArtifacts' entries.)
 */
import { SHA256_PATTERN } from '@pmamba/protocol';
import type { ArtifactStore, StoredObject } from '../../src/artifact-store.ts';
import { StoreError } from '../../src/errors.ts';
import { validateKey } from '../../src/key-path.ts';
import { describeArtifacts, mapLimit, type ManifestEntry } from '../../src/manifest.ts';

export interface ArtifactManifest {
  kind: 'pmamba.manifest';
  version: 1;
  /** ISO 8601 time the manifest was written. */
  createdAt: string;
  /** Sorted by key. */
  entries: ManifestEntry[];
}

/**
 * How much of a manifest's content to check: `none`; `recorded` compares each entry with the
 * hash recorded on the object (one HEAD each); `content` re-reads every object.
 */
export type ManifestCheck = 'none' | 'recorded' | 'content';

/**
 * Writes the manifest for `items` (keys, described first, or entries from earlier writes).
 * Call it last: it is the commit of the group.
 */
export async function writeManifest(
  store: ArtifactStore,
  manifestKey: string,
  items: readonly (string | ManifestEntry)[],
): Promise<StoredObject> {
  const keys = items.filter((item): item is string => typeof item === 'string');
  const described = await describeArtifacts(store, keys);
  const entries = [...items.filter((item): item is ManifestEntry => typeof item !== 'string'), ...described]
    .map(({ key, size, sha256 }) => ({ key, size, sha256 }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const repeated = entries.find((entry, i) => i > 0 && entries[i - 1].key === entry.key);
  if (repeated) {
    throw new StoreError('E_MANIFEST', `manifest "${manifestKey}" would list "${repeated.key}" twice`, repeated.key);
  }
  const manifest: ArtifactManifest = { kind: 'pmamba.manifest', version: 1, createdAt: new Date().toISOString(), entries };
  return store.putJson(manifestKey, manifest);
}

function invalid(manifestKey: string, url: string, why: string): StoreError {
  return new StoreError('E_MANIFEST', `manifest "${manifestKey}" in ${url} is invalid: ${why}`, manifestKey);
}

function parseManifest(value: unknown, manifestKey: string, url: string): ArtifactManifest {
  const m = value as Partial<ArtifactManifest> | null;
  if (typeof m !== 'object' || m === null || m.kind !== 'pmamba.manifest' || m.version !== 1) {
    throw invalid(manifestKey, url, 'expected {"kind": "pmamba.manifest", "version": 1, …}');
  }
  if (typeof m.createdAt !== 'string') throw invalid(manifestKey, url, 'createdAt: expected an ISO date string');
  if (!Array.isArray(m.entries)) throw invalid(manifestKey, url, 'entries: expected an array');
  m.entries.forEach((entry: Partial<ManifestEntry> | null, i) => {
    if (typeof entry !== 'object' || entry === null) throw invalid(manifestKey, url, `entries.${i}: expected an object`);
    try {
      validateKey(entry.key);
    } catch (err) {
      throw invalid(manifestKey, url, `entries.${i}.key: ${(err as Error).message}`);
    }
    if (!Number.isSafeInteger(entry.size) || (entry.size as number) < 0) {
      throw invalid(manifestKey, url, `entries.${i}.size: expected a non-negative integer`);
    }
    if (typeof entry.sha256 !== 'string' || !SHA256_PATTERN.test(entry.sha256)) {
      throw invalid(manifestKey, url, `entries.${i}.sha256: expected 64 lower-case hex digits`);
    }
  });
  return m as ArtifactManifest;
}

/** Checks that each entry's object exists and still has the listed hash (see ManifestCheck). */
export async function verifyArtifacts(
  store: ArtifactStore,
  entries: readonly ManifestEntry[],
  check: Exclude<ManifestCheck, 'none'> = 'recorded',
): Promise<void> {
  await mapLimit(entries, async (entry) => {
    const found = check === 'content' ? await store.verify(entry.key) : await store.head(entry.key);
    if (!found) throw new StoreError('E_NOT_FOUND', `object "${entry.key}" listed in a manifest is missing from ${store.url}`, entry.key);
    if (found.sha256 !== entry.sha256 || found.size !== entry.size) {
      throw new StoreError(
        'E_HASH_MISMATCH',
        `object "${entry.key}" in ${store.url} was replaced after its manifest was written ` +
          `(manifest: sha256 ${entry.sha256}, ${entry.size} bytes; now: sha256 ${found.sha256 ?? 'none'}, ${found.size} bytes)`,
        entry.key,
      );
    }
  });
}

/** Reads (and by default checks) a manifest. E_NOT_FOUND when the group was never completed. */
export async function readManifest(
  store: ArtifactStore,
  manifestKey: string,
  check: ManifestCheck = 'recorded',
): Promise<ArtifactManifest> {
  const manifest = await store.getJson(manifestKey, (value) => parseManifest(value, manifestKey, store.url));
  if (check !== 'none') await verifyArtifacts(store, manifest.entries, check);
  return manifest;
}
