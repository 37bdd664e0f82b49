/**
 * Deterministic job ids. Store names (payload `jobId`, one key segment) say which slice of the
 * plan a job trains; BullMQ ids add the run and round, so adding a round's flow again (after a
 * coordinator restart) finds the jobs already queued instead of doing the work twice. BullMQ ids
 * must not contain ':'; run ids cannot contain '.', so '.' separates the parts unambiguously.
 * Classes appear by index, never by name: a class name may hold characters ids cannot.
 */

/** The store name of train-shard job `worker` of model number `modelIndex` (unified: `w<i>`; per-class: `m<k>-w<i>`). */
export function shardJobName(perClass: boolean, modelIndex: number, worker: number): string {
  return perClass ? `m${modelIndex}-w${worker}` : `w${worker}`;
}

export const bullIds = {
  /** One per teacher, not per run: runs that share a teacher share its job. */
  teacherPretrain: (fingerprint: string): string => `teacher.${fingerprint}`,
  trainShard: (runId: string, round: number, jobName: string): string => `${runId}.r${round}.${jobName}`,
  aggregate: (runId: string, round: number, modelIndex: number): string => `${runId}.r${round}.aggregate-m${modelIndex}`,
  fitMap: (runId: string, atRound: number, modelIndex: number): string => `${runId}.e${atRound}.fit-map-m${modelIndex}`,
  evaluate: (runId: string, atRound: number, classIndex: number): string => `${runId}.e${atRound}.evaluate-c${classIndex}`,
  report: (runId: string, atRound: number): string => `${runId}.e${atRound}.report`,
};
