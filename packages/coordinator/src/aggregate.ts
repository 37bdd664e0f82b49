/**
 * The aggregate job: reads the round's train-shard results from the store (not from Redis, so
 * a round survives a Redis restart), averages their weights by samples, writes the merged
 * weights and then the round manifest — the round is complete exactly when the manifest exists.
 * Running it again after a crash returns the manifest already written.
 */
import {
  layout,
  parseJobResult,
  parseRoundManifest,
  type AggregatePayload,
  type ArtifactRef,
  type AggregateResult,
  type RoundManifest,
  type TrainShardResult,
} from '@pmamba/protocol';
import { isStoreError, sha256, type ArtifactStore } from '@pmamba/store';
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
  const key = layout.jobResultKey(payload.runId, payload.round, jobId);
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
 * The children's artifacts of one kind (weights, or optimiser states — both safetensors), each
 * checked against the sha256 its job reported, averaged by samples and written to `outputKey`.
 */
async function averageArtifacts(
  store: ArtifactStore,
  payload: AggregatePayload,
  results: TrainShardResult[],
  pick: (r: TrainShardResult) => ArtifactRef,
  what: string,
  outputKey: string,
): Promise<ArtifactRef> {
  const inputs = await Promise.all(
    results.map(async (r) => {
      const artifact = pick(r);
      const bytes = await store.getBytes(artifact.key);
      if (sha256(bytes) !== artifact.sha256) {
        throw new CoordinatorError('E_JOB_FAILED', `round ${payload.round}: ${artifact.key} is not the ${what} job ${r.jobId} reported (sha256 differs)`);
      }
      return { bytes, samples: r.samples, source: artifact.key };
    }),
  );
  return ref(await store.putBytes(outputKey, averageWeights(inputs)));
}

export async function aggregateRound(store: ArtifactStore, payload: AggregatePayload, now: () => Date = () => new Date()): Promise<AggregateResult> {
  const done = await readCompleteRound(store, payload.manifestKey);
  if (done) return resultOf(done, await store.verify(payload.manifestKey));

  const results = await Promise.all(payload.jobIds.map((id) => jobResult(store, payload, id)));
  const weights = await averageArtifacts(store, payload, results, (r) => r.weights, 'weights', payload.outputKey);
  // Optimiser states when asked for and every child saved one; else the next round starts from fresh moments.
  const trainer =
    payload.trainerOutputKey && results.every((r) => r.trainer)
      ? await averageArtifacts(store, payload, results, (r) => r.trainer!, 'optimiser state', payload.trainerOutputKey)
      : undefined;
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
