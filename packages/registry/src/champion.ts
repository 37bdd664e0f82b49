/**
 * The champion alias: models/<name>/champion.json names the current champion and keeps every
 * change. Each change replaces the file whole in one putJson (an atomic write), so readers see
 * the old alias or the new one.
 */
import { layout, parseModelChampion, type ChampionChange, type ModelChampion } from '@pmamba/protocol';
import { isStoreError, type ArtifactStore } from '@pmamba/store';
import { RegistryError } from './errors.ts';
import { modelNotFound, readVersion, versionNumbers } from './versions.ts';

export interface ChangeOptions {
  /** The clock of the recorded change (tests pin it). Default: the system's. */
  now?: () => Date;
}

/** The champion record; undefined before the first promotion. */
export async function readChampion(store: ArtifactStore, name: string): Promise<ModelChampion | undefined> {
  const key = layout.modelChampionKey(name);
  try {
    return await store.getJson(key, (v) => parseModelChampion(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** Appends a change and writes the alias (one atomic write). */
export async function writeChampion(store: ArtifactStore, name: string, before: ModelChampion | undefined, change: ChampionChange): Promise<ModelChampion> {
  const after: ModelChampion = parseModelChampion({
    kind: 'pmamba.model-champion',
    version: 1,
    name,
    champion: change.version,
    history: [...(before?.history ?? []), change],
  });
  await store.putJson(layout.modelChampionKey(name), after);
  return after;
}

/**
 * The champions in the order they took over, the current one last: promotions push, rollbacks
 * pop, so a second rollback goes further back instead of undoing the first.
 */
export function championLine(history: readonly ChampionChange[]): number[] {
  const line: number[] = [];
  for (const change of history) {
    if (change.action === 'rollback') line.pop();
    else line.push(change.version);
  }
  return line;
}

/**
 * Makes version n the champion whatever the gate said (`manual-promote` in the history).
 * Promoting the current champion changes nothing.
 */
export async function promote(store: ArtifactStore, name: string, n: number, reason: string, options: ChangeOptions = {}): Promise<ModelChampion> {
  if (reason.trim() === '') throw new RegistryError('E_BAD_ARGUMENT', `promote ${name}@${n}: give a reason (it is kept in the champion's history)`);
  await readVersion(store, name, n); // the version must exist
  const before = await readChampion(store, name);
  if (before?.champion === n) return before;
  const at = (options.now ?? (() => new Date()))().toISOString();
  return writeChampion(store, name, before, { version: n, at, action: 'manual-promote', reason, previous: before?.champion ?? null });
}

/** Makes the champion before the current one champion again (`rollback` in the history). */
export async function rollback(store: ArtifactStore, name: string, options: ChangeOptions & { reason?: string } = {}): Promise<ModelChampion> {
  const before = await readChampion(store, name);
  if (before?.champion == null) {
    if ((await versionNumbers(store, name)).length === 0) throw modelNotFound(name);
    throw new RegistryError('E_NO_CHAMPION', `model ${name} has no champion to roll back`);
  }
  const line = championLine(before.history);
  const target = line.length >= 2 && line.at(-1) === before.champion ? line.at(-2)! : undefined;
  if (target === undefined) {
    throw new RegistryError('E_NO_PREVIOUS', `model ${name}: v${before.champion} is its first champion; there is no earlier one to roll back to (pmamba models promote ${name}@N names one)`);
  }
  await readVersion(store, name, target);
  const at = (options.now ?? (() => new Date()))().toISOString();
  const reason = options.reason?.trim() || `rolled back from v${before.champion} to v${target}`;
  return writeChampion(store, name, before, { version: target, at, action: 'rollback', reason, previous: before.champion });
}
