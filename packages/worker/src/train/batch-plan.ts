/** Which images each optimiser step of a train-shard job sees. */
import { createRng, hashSeed } from '@pmamba/data';
import type { TrainShardPayload } from '@pmamba/protocol';

/** The job's step count: its localSteps, or localEpochs passes over its shards' images. */
export function stepsOf(payload: Pick<TrainShardPayload, 'localSteps' | 'localEpochs' | 'shards'>, batchSize: number): number {
  if (payload.localSteps !== undefined) return payload.localSteps;
  const items = payload.shards.reduce((n, s) => n + s.items.length, 0);
  return Math.max(1, Math.ceil((payload.localEpochs! * items) / batchSize));
}

/**
 * The ids of each step's batch: passes over the job's images, each in a fresh order drawn from
 * the job's seed — the same sequence on every attempt, so a resumed job sees the batches it
 * had not seen yet.
 */
export function batchPlan(items: readonly string[], batchSize: number, steps: number, seed: number): string[][] {
  const out: string[][] = [];
  let order: string[] = [];
  let at = 0;
  let pass = 0;
  while (out.length < steps) {
    const batch: string[] = [];
    while (batch.length < Math.min(batchSize, items.length)) {
      if (at >= order.length) {
        order = createRng(hashSeed(seed, 'pass', pass++)).shuffle([...items]);
        at = 0;
      }
      batch.push(order[at++]);
    }
    out.push(batch);
  }
  return out;
}
