/**
 * Sandboxed processor of the fit-map queue. A fit is one forward pass over the training images:
 * at shutdown it finishes rather than hands back.
 */
import type { SandboxedJob } from 'bullmq';
import { parseJobPayload, type FitMapResult } from '@pmamba/protocol';
import { fitMap } from '../fit-map.ts';
import { jobContext, processRuntime, runJob } from './run-job.ts';

export default async function fitMapProcessor(job: SandboxedJob, token?: string): Promise<FitMapResult> {
  return runJob(job, token, () => fitMap(parseJobPayload('fit-map', job.data, job.id), jobContext(job), processRuntime()));
}
