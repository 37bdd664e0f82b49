/**
 * @pmamba/protocol: the contracts between CLI, coordinator and workers — configs, jobs, manifests,
 * the store layout (every key, built in one place), and the vocabulary they share (ids, hashes,
 * metric names, report formats, image extensions).
 *
 * ```ts
 * const config = await loadRunConfig('configs/quickstart.yaml'); // ConfigError names file, line and field
 * const payload = parseJobPayload(QUEUE_NAMES.trainShard, job.data, job.id); // PayloadError if malformed
 * const key = layout.roundManifestKey('run-1', 0, 'unified'); // runs/run-1/rounds/0/merged/unified.manifest.json
 * ```
 */
export { ProtocolError, PayloadError } from './errors.ts';
export { ID_PATTERN, MAX_SEGMENT_BYTES, SHA256_PATTERN, runIdStamp } from './primitives.ts';
export type { ArtifactRef } from './primitives.ts';
export * as layout from './layout.ts';
export { QUEUE_NAMES, SCHEDULE_QUEUE } from './queues.ts';
export type { QueueName } from './queues.ts';
export { teacherSource, modelSection, REPORT_FORMATS, DEFAULT_STORE_URL, DEFAULT_REDIS_PREFIX } from './run-config.ts';
export type { RunConfig, RunConfigInput, ReportFormat } from './run-config.ts';
export { loadRunConfig, parseRunConfig, parseConfigYaml, readConfigFile } from './load-config.ts';
export type { Shard } from './shard.ts';
export { trainSpecOf } from './train-spec.ts';
export type { TrainSpec, TeacherRef } from './train-spec.ts';
export { METRIC_KEYS, METRIC_NAMES } from './metrics.ts';
export type { ClassMetrics, ReportTable, MetricKey, MetricName } from './metrics.ts';
export { IMAGE_EXTENSIONS, isImageName } from './images.ts';
export { TeacherPretrainPayloadSchema, JobProgressSchema, parseJobPayload, parseJobResult } from './jobs.ts';
export type {
  JobProgress, TeacherPretrainPayload, TeacherPretrainResult, TrainShardPayload, TrainShardResult,
  AggregatePayload, AggregateResult, FitMapPayload, FitMapResult, FittedMapSettings, EvaluatePayload, EvaluateResult, ReportPayload, ReportResult,
} from './jobs.ts';
export {
  parseTeacherCheckpointState, parseRunRecord, parseRoundManifest, parseRunManifest, parseEvaluationRecord,
  parseCheckpointState,
} from './manifests.ts';
export type { RunRecord, RoundManifest, RunManifest, EvaluationRecord, CheckpointState, TeacherCheckpointState } from './manifests.ts';
export { parseModelVersion, parseModelChampion, parseReportTable } from './registry.ts';
export type { ModelVersion, ModelChampion, ChampionChange, GateDecision } from './registry.ts';
export { parseSweepManifest, SWEEP_RUN_STATUSES } from './sweep-manifest.ts';
export type { SweepManifest, SweepRun, SweepRunStatus } from './sweep-manifest.ts';
export { expandSweep } from './sweep.ts';
export type { SweepVariant } from './sweep.ts';
export {
  redisConnectionFromUrl, parseRedisUrl, isClusterUrl, hasClusterScheme, prefixHashTag, checkClusterPrefix,
} from './connection.ts';
export type { RedisConnectionOptions, RedisClusterConnectionOptions, RedisNode, ParsedRedisUrl } from './connection.ts';
export {
  SCHEDULE_OVERLAPS, FINAL_FIRING_STATUSES, parseSchedule, parseScheduleFiring, parseFiringPayload, scheduleRunId,
  parseEvery, formatEvery, describeTiming, isTimeZone,
} from './schedule.ts';
export type { Schedule, ScheduleFiring, ScheduleTiming, ScheduleOverlap, FiringOutcome, FiringPayload } from './schedule.ts';
