/** @pmamba/coordinator: plans runs, drives rounds and evaluations as BullMQ flows, aggregates weights, writes reports. */
export { CoordinatorError } from './errors.ts';
export type { CoordinatorErrorCode } from './errors.ts';
export { planRun, planClassShards, runModelConfig } from './plan.ts';
export type { PlanOptions } from './plan.ts';
export { Coordinator, loadRun } from './coordinator.ts';
export type { CoordinatorOptions, CoordinatorEvent, RunOutcome, WatchedJob } from './coordinator.ts';
export { JOB_OPTIONS, openQueues } from './queues.ts';
export type { QueueTarget, Queues } from './queues.ts';
export { averageWeights, AverageWeightsError } from './average-weights.ts';
export type { WeightedWeights } from './average-weights.ts';
export { aggregateRound, readCompleteRound } from './aggregate.ts';
export { writeReport, saveReport, reportTable, reportMarkdown, reportJson, benchmarkTable, meanMetrics } from './report.ts';
export { roundFlow, evaluationFlow, evaluationRounds, shardJobs, roundLr } from './flows.ts';
export type { ShardJob } from './flows.ts';
export { bullIds, shardJobName } from './job-ids.ts';
export { initWeightsKey, evaluationKeys } from './keys.ts';
export type { EvaluationKeys } from './keys.ts';
