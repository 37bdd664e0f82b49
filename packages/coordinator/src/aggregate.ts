/**
 * The aggregate job: reads the round's train-shard results from the store (not from Redis, so
 * a round survives a Redis restart), averages their weights by samples, writes the merged
 * weights and then the round manifest — the round is complete exactly when the manifest exists.
 * Running it again after a crash returns the manifest already written.
 */
import {
  parseJobResult,
  parseRoundManifest,
  type AggregatePayload,
  type AggregateResult,
  type RoundManifest,
  type TrainShardResult,
} from '@pmamba/protocol';
import { isStoreError, keys, sha256, type ArtifactStore } from '@pmamba/store';
import { averageWeights } from './average-weights.ts';
import { CoordinatorError } from './errors.ts';

/** The round manifest at `key` if it exists and its weights are still the bytes it names. */
export async function readCompleteRound(store: ArtifactStore, key: string): Promise<RoundManifest | undefined> {
  let manifest: RoundManifest;
  try {
    manifest = await store.getJson(key, (v) => parseRoundManifest(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  const found = await store.head(manifest.weights.key);
  if (!found || found.sha256 !== manifest.weights.sha256) return undefined;
  return manifest;
}

async function jobResult(store: ArtifactStore, payload: AggregatePayload, jobId: string): Promise<TrainShardResult> {
  const key = keys.jobResultKey(payload.runId, payload.round, jobId);
  try {
    return await store.getJson(key, (v) => parseJobResult('train-shard', v, jobId));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) {
      throw new CoordinatorError('E_JOB_FAILED', `round ${payload.round}: train-shard job ${jobId} left no result at ${key} in ${store.url}`);
    }
    throw err;
  }
}

function ref(o: { key: string; sha256: string; size: number }) {
  return { key: o.key, sha256: o.sha256, size: o.size };
}

function resultOf(manifest: RoundManifest, written: { key: string; sha256: string; size: number }): AggregateResult {
  return {
    runId: manifest.runId,
    round: manifest.round,
    model: manifest.model,
    weights: manifest.weights,
    ...(manifest.trainer ? { trainer: manifest.trainer } : {}),
    samples: manifest.samples,
    loss: manifest.loss,
    manifest: ref(written),
  };
}

/**
 * The children's optimiser states (AdamW moments, safetensors like weights) averaged by samples
 * the same way, when the payload asks for it and every child saved one; else none, and the
 * next round starts from fresh moments.
 */
async function averageTrainerStates(store: ArtifactStore, payload: AggregatePayload, results: TrainShardResult[]) {
  if (!payload.trainerOutputKey || results.some((r) => !r.trainer)) return undefined;
  const inputs = await Promise.all(
    results.map(async (r) => {
      const bytes = await store.getBytes(r.trainer!.key);
      if (sha256(bytes) !== r.trainer!.sha256) {
        throw new CoordinatorError('E_JOB_FAILED', `round ${payload.round}: ${r.trainer!.key} is not the optimiser state job ${r.jobId} reported (sha256 differs)`);
      }
      return { bytes, samples: r.samples, source: r.trainer!.key };
    }),
  );
  return ref(await store.putBytes(payload.trainerOutputKey, averageWeights(inputs)));
}

export async function aggregateRound(store: ArtifactStore, payload: AggregatePayload, now: () => Date = () => new Date()): Promise<AggregateResult> {
  const done = await readCompleteRound(store, payload.manifestKey);
  if (done) return resultOf(done, await store.verify(payload.manifestKey));

  const results = await Promise.all(payload.jobIds.map((id) => jobResult(store, payload, id)));
  const inputs = await Promise.all(
    results.map(async (r) => {
      const bytes = await store.getBytes(r.weights.key);
      if (sha256(bytes) !== r.weights.sha256) {
        throw new CoordinatorError('E_JOB_FAILED', `round ${payload.round}: ${r.weights.key} is not the weights job ${r.jobId} reported (sha256 differs)`);
      }
      return { bytes, samples: r.samples, source: r.weights.key };
    }),
  );
  const weights = ref(await store.putBytes(payload.outputKey, averageWeights(inputs)));
  const trainer = await averageTrainerStates(store, payload, results);
  const samples = results.reduce((s, r) => s + r.samples, 0);
  const manifest: RoundManifest = {
    kind: 'pmamba.round',
    version: 1,
    runId: payload.runId,
    round: payload.round,
    model: payload.model,
    weights,
    ...(trainer ? { trainer } : {}),
    jobs: results.map((r) => ({ jobId: r.jobId, weights: r.weights, samples: r.samples, loss: r.loss })),
    samples,
    loss: results.reduce((s, r) => s + r.loss * r.samples, 0) / samples,
    createdAt: now().toISOString(),
  };
  return resultOf(manifest, await store.putJson(payload.manifestKey, manifest));
}
