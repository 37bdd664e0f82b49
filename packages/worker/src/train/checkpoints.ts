/**
 * A train-shard job's store records: its result (written last: the job is done when it exists)
 * and its checkpoint, so a retry resumes where the last checkpoint left off. A checkpoint's
 * weights and optimiser state go to new keys each time (layout.checkpointVersionKey) and are
 * published by the state record written after them; the previous step's files are removed only
 * then. A crash between any two writes leaves the last published checkpoint whole.
 */
import { loadTrainerState, saveCheckpoint, saveTrainerState, type PyramidMamba, type Trainer, type TrainerState } from '@pmamba/model';
import { layout, parseCheckpointState, parseJobResult, type ArtifactRef, type CheckpointState, type TrainShardPayload, type TrainShardResult } from '@pmamba/protocol';
import { isStoreError, sha256, type ArtifactStore } from '@pmamba/store';
import { removeCheckpoint, removeReplaced } from '../checkpoint-files.ts';

export interface Checkpoint {
  state: CheckpointState;
  bytes: Uint8Array;
  /** Absent when the checkpoint has no trainer state or it no longer verifies. */
  trainer?: TrainerState;
}

export function ref(o: { key: string; sha256: string; size: number }): ArtifactRef {
  return { key: o.key, sha256: o.sha256, size: o.size };
}

/** The job's result when it is already in the store with the very weights it names. */
export async function finishedResult(store: ArtifactStore, payload: TrainShardPayload): Promise<TrainShardResult | undefined> {
  const key = payload.resultKey;
  let result: TrainShardResult;
  try {
    result = await store.getJson(key, (v) => parseJobResult('train-shard', v, payload.jobId));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  const found = await store.head(result.weights.key);
  return found?.sha256 === result.weights.sha256 ? result : undefined;
}

/** The job's checkpoint, if one exists for this very job and starting point, with its weights. */
export async function readCheckpoint(store: ArtifactStore, payload: TrainShardPayload, steps: number): Promise<Checkpoint | undefined> {
  const key = payload.checkpointStateKey;
  let state: CheckpointState;
  try {
    state = await store.getJson(key, (v) => parseCheckpointState(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  const sameJob = state.runId === payload.runId && state.round === payload.round && state.jobId === payload.jobId && state.steps === steps;
  if (!sameJob || (state.init?.sha256 ?? null) !== (payload.init?.sha256 ?? null) || state.step >= steps) return undefined;
  // Files are immutable once published; a hash that no longer matches means the store lost or
  // damaged them: such weights are not resumable, such a trainer state is not used.
  const verified = async (ref: ArtifactRef): Promise<Uint8Array | undefined> => {
    try {
      const bytes = await store.getBytes(ref.key);
      return sha256(bytes) === ref.sha256 ? bytes : undefined;
    } catch (err) {
      if (isStoreError(err)) return undefined;
      throw err;
    }
  };
  const bytes = await verified(state.weights);
  if (!bytes) return undefined;
  const trainerBytes = state.trainer && (await verified(state.trainer));
  return { state, bytes, trainer: trainerBytes ? loadTrainerState(trainerBytes, state.trainer!.key) : undefined };
}

/** Where the job stands, for the state record. */
export interface Progress {
  step: number;
  steps: number;
  samples: number;
  lossSum: number;
}

/**
 * Writes this step's optimiser state and weights under new keys, publishes them with the state
 * record, then removes the files of `previous` (the checkpoint it replaces). Returns the new state.
 */
export async function writeCheckpoint(
  store: ArtifactStore,
  payload: TrainShardPayload,
  model: PyramidMamba,
  trainer: Trainer,
  at: Progress,
  meta: Record<string, string>,
  previous: CheckpointState | undefined,
): Promise<CheckpointState> {
  const trainerState = ref(await store.putBytes(layout.checkpointVersionKey(payload.checkpointTrainerKey, at.step), saveTrainerState(trainer.state(), meta)));
  const weights = ref(await store.putBytes(layout.checkpointVersionKey(payload.checkpointKey, at.step), saveCheckpoint(model, meta)));
  const state: CheckpointState = {
    kind: 'pmamba.checkpoint',
    version: 1,
    runId: payload.runId,
    round: payload.round,
    jobId: payload.jobId,
    ...at,
    weights,
    trainer: trainerState,
    init: payload.init,
    createdAt: new Date().toISOString(),
  };
  await store.putJson(payload.checkpointStateKey, state);
  await removeReplaced(store, [previous?.weights.key, previous?.trainer?.key], [weights.key, trainerState.key]);
  return state;
}

/** The result is the job's commit: its checkpoint can never be needed again. */
export async function deleteCheckpoint(store: ArtifactStore, payload: TrainShardPayload): Promise<void> {
  await removeCheckpoint(store, payload.checkpointStateKey);
}
