/** Every registered model in a store (`pmamba models list` without a name). */
import { layout } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';
import { readChampion } from './champion.ts';

export interface ModelSummary {
  name: string;
  /** Version numbers, ascending. */
  versions: number[];
  champion: number | null;
}

/** `<name>` and `<n>` of `<name>/versions/<n>/version.json` under the models prefix. */
const RECORD_UNDER_MODELS = /^([^/]+)\/versions\/([1-9][0-9]*)\/version\.json$/;

/** Models with at least one version, by name. */
export async function listModels(store: ArtifactStore): Promise<ModelSummary[]> {
  const found = new Map<string, number[]>();
  for (const o of await store.list(layout.MODELS_PREFIX)) {
    const m = RECORD_UNDER_MODELS.exec(o.key.slice(layout.MODELS_PREFIX.length));
    if (!m) continue;
    const [name, n] = [m[1], Number(m[2])];
    let key: string | undefined;
    try {
      key = layout.modelVersionRecordKey(name, n);
    } catch {
      continue; // not a key layout builds: not ours
    }
    if (key === o.key) found.set(name, [...(found.get(name) ?? []), n]);
  }
  const names = [...found.keys()].sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      versions: found.get(name)!.sort((a, b) => a - b),
      champion: (await readChampion(store, name))?.champion ?? null,
    })),
  );
}
