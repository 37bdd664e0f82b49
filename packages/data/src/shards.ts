/**
 * Shard planning for distributed training: each class's items are split into shards of at
 * most `maxPerShard`, then shards are spread over W workers by greedy longest-processing-time
 * (largest shard first, to the least-loaded worker). The plan is a pure function of its
 * inputs and the seed.
 *
 * @example
 * const shards = planShards([{ className: 'bottle', items: ids }], { maxPerShard: 64, seed: 1 });
 * const workers = assignShards(shards, 4);
 */
// A plan travels in the run record: planShards yields protocol's Shard, validated as is.
import type { Shard } from '@pmamba/protocol';
import { DataError } from './errors.ts';
import { byName } from './dataset.ts';
import type { DatasetIndex } from './dataset.ts';
import { createRng, hashSeed } from './rng.ts';

/** The items of one class to be sharded (usually sample ids: root-relative image paths). */
export interface ClassItems {
  className: string;
  items: readonly string[];
}

/** Options of `planShards`. */
export interface ShardOptions {
  /** Upper bound on items per shard (≥ 1). */
  maxPerShard: number;
  /** Items are shuffled with this seed before splitting; omit to keep the given order. */
  seed?: number;
}

/** The shards one worker trains. */
export interface WorkerAssignment {
  worker: number;
  shards: Shard[];
  /** Total items over its shards. */
  items: number;
}

/**
 * Splits every class into ceil(n / maxPerShard) shards whose sizes differ by at most one
 * (e.g. 10 items, max 4 → 4, 3, 3). Classes come out sorted by name; a class without items
 * yields no shard.
 */
export function planShards(classes: readonly ClassItems[], options: ShardOptions): Shard[] {
  const { maxPerShard, seed } = options;
  if (!Number.isInteger(maxPerShard) || maxPerShard < 1) {
    throw new DataError('E_ARGUMENT', `maxPerShard must be a positive integer, got ${maxPerShard}`);
  }
  const names = classes.map((c) => c.className);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new DataError('E_ARGUMENT', `class '${dup}' is listed twice`);
  const shards: Shard[] = [];
  for (const cls of [...classes].sort((a, b) => byName(a.className, b.className))) {
    const items = [...cls.items];
    if (seed !== undefined) createRng(hashSeed(seed, cls.className)).shuffle(items);
    const count = Math.ceil(items.length / maxPerShard);
    const base = Math.floor(items.length / Math.max(1, count));
    const extra = items.length - base * count;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const len = base + (i < extra ? 1 : 0);
      shards.push({ id: `${cls.className}/${i}`, className: cls.className, index: i, items: items.slice(at, at + len) });
      at += len;
    }
  }
  return shards;
}

/** The training images of a dataset, as ClassItems keyed by sample id. */
export function trainItems(index: DatasetIndex): ClassItems[] {
  return index.classes.map((c) => ({ className: c.name, items: c.train.map((s) => s.id) }));
}

/**
 * Assigns shards to `workers` workers by greedy LPT: shards in order of size (largest first;
 * ties by class name, then shard index), each to the worker with the fewest items so far
 * (ties to the lowest worker number). Equal-size shards of one class thus land on different
 * workers, which keeps each worker's mix of classes balanced. Every worker is listed, even
 * one that gets no shard.
 */
export function assignShards(shards: readonly Shard[], workers: number): WorkerAssignment[] {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new DataError('E_ARGUMENT', `worker count must be a positive integer, got ${workers}`);
  }
  const order = [...shards].sort(
    (a, b) => b.items.length - a.items.length || byName(a.className, b.className) || a.index - b.index,
  );
  const out: WorkerAssignment[] = Array.from({ length: workers }, (_, worker) => ({ worker, shards: [], items: 0 }));
  for (const shard of order) {
    let best = out[0];
    for (const w of out) if (w.items < best.items) best = w;
    best.shards.push(shard);
    best.items += shard.items.length;
  }
  return out;
}
