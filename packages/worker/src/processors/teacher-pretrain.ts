/**
 * Sandboxed processor of the teacher-pretrain queue. Like train-shard's: at shutdown the job
 * checkpoints and goes back to the wait list for the next worker to resume.
 */
import { parseJobPayload } from '@pmamba/protocol';
import { teacherPretrain } from '../teacher-pretrain.ts';
import { checkpointingProcessor, processRuntime } from './run-job.ts';

export default checkpointingProcessor((job, ctx) => teacherPretrain(parseJobPayload('teacher-pretrain', job.data, job.id), ctx, processRuntime()));
