/**
 * Sandboxed processor of the teacher-pretrain queue. Like train-shard's: at shutdown the job
 * checkpoints and goes back to the wait list for the next worker to resume.
 */
import { WaitingError, type SandboxedJob } from 'bullmq';
import { parseJobPayload, type TeacherPretrainResult } from '@pmamba/protocol';
import { teacherPretrain } from '../teacher-pretrain.ts';
import { jobContext, processRuntime, runJob, stopSignal } from './run-job.ts';

export default async function teacherPretrainProcessor(job: SandboxedJob, token?: string, signal?: AbortSignal): Promise<TeacherPretrainResult> {
  const ctx = { ...jobContext(job), signal: stopSignal(signal) };
  const out = await runJob(() => teacherPretrain(parseJobPayload('teacher-pretrain', job.data, job.id), ctx, processRuntime()));
  if ('handedBack' in out) {
    ctx.log(`shutting down: handed back at step ${out.step}; another worker resumes from the checkpoint`);
    await job.moveToWait(token);
    throw new WaitingError();
  }
  return out;
}
