/**
 * Sandboxed processor of the evaluate queue. Evaluations are short: at shutdown they finish
 * rather than hand back.
 */
import type { SandboxedJob } from 'bullmq';
import { parseJobPayload, type EvaluateResult } from '@pmamba/protocol';
import { evaluateClass } from '../evaluate.ts';
import { jobContext, processRuntime, runJob } from './run-job.ts';

export default async function evaluateProcessor(job: SandboxedJob): Promise<EvaluateResult> {
  return runJob(() => evaluateClass(parseJobPayload('evaluate', job.data, job.id), jobContext(job), processRuntime()));
}
