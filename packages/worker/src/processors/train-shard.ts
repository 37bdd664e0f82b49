/**
 * Sandboxed processor of the train-shard queue (runs in a child process of `pmamba worker`, so
 * tensor work never blocks the parent's lock renewal). At shutdown the job checkpoints, moves
 * itself back to the wait list and ends with WaitingError: the job is handed back, not failed,
 * and the next worker resumes it from the checkpoint.
 */
import { parseJobPayload } from '@pmamba/protocol';
import { trainShard } from '../train-shard.ts';
import { checkpointingProcessor, processRuntime } from './run-job.ts';

export default checkpointingProcessor((job, ctx) => trainShard(parseJobPayload('train-shard', job.data, job.id), ctx, processRuntime()));
