/** @pmamba/protocol: the contracts between CLI, coordinator and workers — configs, jobs, manifests. */
export { ProtocolError, ConfigError, PayloadError } from './errors.ts';
export type { ProtocolErrorCode, FieldIssue } from './errors.ts';
export { formatIssues, parseWith, showValue, suggestField } from './issues.ts';
export {
  ArtifactRefSchema,
  ClassNameSchema,
  IsoDateTimeSchema,
  JobIdSchema,
  ModelNameSchema,
  RunIdSchema,
  Sha256Schema,
  StoreKeySchema,
  ID_PATTERN,
  SHA256_PATTERN,
} from './primitives.ts';
export type { ArtifactRef } from './primitives.ts';
export { QUEUE_NAMES, QueueNameSchema } from './queues.ts';
export type { QueueName } from './queues.ts';
export {
  RunConfigSchema,
  RunSectionSchema,
  DatasetSchema,
  SyntheticDatasetSchema,
  ModelSectionSchema,
  TeacherSchema,
  TeacherPretrainSchema,
  TEACHER_BATCH_NORM,
  TEACHER_INITS,
  TEACHER_STEMS,
  type TeacherStem,
  teacherSource,
  modelSection,
  TrainingSchema,
  EvaluationSchema,
  StoreSectionSchema,
  RedisSectionSchema,
  DATASET_FORMATS,
  BAD_IMAGE_POLICIES,
  TRAINING_MODES,
  MODEL_PRESETS,
  METRIC_NAMES,
  REPORT_FORMATS,
  MAP_REDUCTIONS,
  IMAGE_SCORES,
  DEFAULT_STORE_URL,
  DEFAULT_REDIS_PREFIX,
} from './run-config.ts';
export type {
  RunConfig,
  RunConfigInput,
  DatasetConfig,
  ModelSection,
  TrainingConfig,
  TeacherConfig,
  EvaluationConfig,
  TrainingMode,
  MetricName,
  ReportFormat,
} from './run-config.ts';
export { SweepSchema, SWEEPABLE_SECTIONS } from './sweep-schema.ts';
export type { SweepConfig } from './sweep-schema.ts';
export { expandSweep } from './sweep.ts';
export type { SweepVariant } from './sweep.ts';
export { loadRunConfig, loadSweep, parseRunConfig, parseRunConfigText, parseConfigYaml, readConfigFile } from './load-config.ts';
export type { ConfigSource } from './load-config.ts';
export { ShardSchema } from './shard.ts';
export type { Shard } from './shard.ts';
export { ClassMetricsSchema, ReportTableSchema } from './metrics.ts';
export type { ClassMetrics, ReportTable } from './metrics.ts';
export {
  TeacherPretrainPayloadSchema,
  TeacherPretrainResultSchema,
  TrainShardPayloadSchema,
  TrainShardResultSchema,
  AggregatePayloadSchema,
  AggregateResultSchema,
  EvaluatePayloadSchema,
  EvaluateResultSchema,
  ReportPayloadSchema,
  ReportResultSchema,
  JOB_SCHEMAS,
  JobProgressSchema,
  parseJobPayload,
  parseJobResult,
} from './jobs.ts';
export type {
  JobPayload,
  JobResult,
  JobProgress,
  TeacherPretrainPayload,
  TeacherPretrainResult,
  TrainShardPayload,
  TrainShardResult,
  AggregatePayload,
  AggregateResult,
  EvaluatePayload,
  EvaluateResult,
  ReportPayload,
  ReportResult,
} from './jobs.ts';
export {
  RunRecordSchema,
  RoundManifestSchema,
  RunManifestSchema,
  CurveSchema,
  EvaluationRecordSchema,
  CheckpointStateSchema,
  TeacherCheckpointStateSchema,
  TeacherRefSchema,
  parseTeacherCheckpointState,
  parseRunRecord,
  parseRoundManifest,
  parseRunManifest,
  parseEvaluationRecord,
  parseCheckpointState,
} from './manifests.ts';
export type { RunRecord, RoundManifest, RunManifest, EvaluationRecord, CheckpointState, TeacherCheckpointState, TeacherRef } from './manifests.ts';
export { redisConnectionFromUrl, DEFAULT_REDIS_PORT } from './connection.ts';
export type { RedisConnectionOptions } from './connection.ts';
