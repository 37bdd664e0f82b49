/**
 * Sandboxed processor of the evaluate queue. Evaluations are short: at shutdown they finish
 * rather than hand back.
 */
import type { SandboxedJob } from 'bullmq';
import { parseJobPayload, type EvaluateResult } from '@pmamba/protocol';
import { evaluateClass } from '../evaluate.ts';
import { jobContext, processRuntime, runJob } from './run-job.ts';

export default async function evaluateProcessor(job: SandboxedJob, token?: string): Promise<EvaluateResult> {
  return runJob(job, token, () => evaluateClass(parseJobPayload('evaluate', job.data, job.id), jobContext(job), processRuntime()));
}
