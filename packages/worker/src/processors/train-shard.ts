/**
 * Sandboxed processor of the train-shard queue (runs in a child process of `pmamba worker`, so
 * tensor work never blocks the parent's lock renewal). At shutdown the job checkpoints, moves
 * itself back to the wait list and ends with WaitingError: the job is handed back, not failed,
 * and the next worker resumes it from the checkpoint.
 */
import { WaitingError, type SandboxedJob } from 'bullmq';
import { parseJobPayload, type TrainShardResult } from '@pmamba/protocol';
import { trainShard } from '../train-shard.ts';
import { jobContext, processRuntime, runJob, stopSignal } from './run-job.ts';

export default async function trainShardProcessor(job: SandboxedJob, token?: string, signal?: AbortSignal): Promise<TrainShardResult> {
  const ctx = { ...jobContext(job), signal: stopSignal(signal) };
  const out = await runJob(() => trainShard(parseJobPayload('train-shard', job.data, job.id), ctx, processRuntime()));
  if ('handedBack' in out) {
    ctx.log(`shutting down: handed back at step ${out.step}; another worker resumes from the checkpoint`);
    await job.moveToWait(token);
    throw new WaitingError();
  }
  return out;
}
