/**
 * Deterministic artifact keys. Everything a run writes lives under `runs/<runId>/`, and a
 * given (run, round, job) always maps to the same key, so a retried job finds its checkpoint
 * and a finished job's output is never written under a second name.
 *
 *   runs/<run>/run.json                              run record (config + plan)
 *   runs/<run>/manifest.json                         final run manifest, written last
 *   runs/<run>/rounds/<r>/<job>.safetensors          a train-shard job's output weights
 *   runs/<run>/rounds/<r>/<job>.json                 its result record (samples, loss)
 *   runs/<run>/rounds/<r>/<job>.trainer.safetensors  its final optimiser state
 *   runs/<run>/rounds/<r>/checkpoints/<job>.safetensors + .json   its resumable checkpoint
 *   runs/<run>/rounds/<r>/checkpoints/<job>.trainer.safetensors   its optimiser state
 *   runs/<run>/rounds/<r>/merged/<model>.safetensors round r's aggregated weights
 *   runs/<run>/rounds/<r>/merged/<model>.trainer.safetensors  and averaged optimiser state
 *   runs/<run>/rounds/<r>/merged/<model>.manifest.json  round manifest, written last
 *   runs/<run>/eval/<class>/metrics.json             per-class evaluation
 *   runs/<run>/eval/<class>/heatmaps/<name>          anomaly-map images
 *   runs/<run>/report/report.<md|csv|json|html>      benchmark table
 *
 * Teachers are shared between runs (a sweep's variants, a schedule's retrains):
 *   teachers/files/<sha256>.<pth|safetensors>        a pretrained teacher file a run was given
 *   teachers/self-supervised/<fp>/teacher.safetensors  a teacher pretrained on a run's images
 *                                                   (torchvision names; `<fp>` fingerprints the
 *                                                   images and settings)
 *   teachers/self-supervised/<fp>/teacher.json      its record, written last: the teacher exists
 *   teachers/self-supervised/<fp>/checkpoint.{safetensors,trainer.safetensors,json}  resumable state
 *
 * `<model>` is `unified` in unified mode and the class name in per-class mode.
 */
// Ids, hashes and report formats are the run's contract: protocol owns them, keys only apply them.
import { ID_PATTERN, REPORT_FORMATS, SHA256_PATTERN, type ReportFormat } from '@pmamba/protocol';
import { StoreError } from './errors.ts';
import { validateKey } from './key-path.ts';

/** The model name used for keys in unified (one model for all classes) mode. */
export const UNIFIED_MODEL = 'unified';

function id(kind: string, value: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new StoreError(
      'E_STORE_KEY',
      `invalid ${kind} ${JSON.stringify(value)}: use 1-128 letters, digits, '_' or '-', starting with a letter or digit`,
    );
  }
  return value;
}

/** One key segment taken from data (a class or file name): any valid single segment. */
function segment(kind: string, value: string): string {
  if (typeof value !== 'string' || value.includes('/')) {
    throw new StoreError('E_STORE_KEY', `invalid ${kind} ${JSON.stringify(value)}: it must be a single path segment`);
  }
  validateKey(value);
  return value;
}

function round(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StoreError('E_STORE_KEY', `invalid round ${String(value)}: expected a non-negative integer`);
  }
  return String(value);
}

/** `runs/<run>/` — every artifact of a run. */
export const runPrefix = (runId: string): string => `runs/${id('run id', runId)}/`;
export const runRecordKey = (runId: string): string => `${runPrefix(runId)}run.json`;
export const runManifestKey = (runId: string): string => `${runPrefix(runId)}manifest.json`;

/** `runs/<run>/rounds/<r>/` — every artifact of one round. */
export const roundPrefix = (runId: string, r: number): string => `${runPrefix(runId)}rounds/${round(r)}/`;
export const jobWeightsKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}${id('job id', jobId)}.safetensors`;
export const jobTrainerKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}${id('job id', jobId)}.trainer.safetensors`;
export const jobResultKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}${id('job id', jobId)}.json`;
export const checkpointWeightsKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}checkpoints/${id('job id', jobId)}.safetensors`;
export const checkpointStateKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}checkpoints/${id('job id', jobId)}.json`;
export const checkpointTrainerKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}checkpoints/${id('job id', jobId)}.trainer.safetensors`;
export const mergedWeightsKey = (runId: string, r: number, model: string = UNIFIED_MODEL): string =>
  `${roundPrefix(runId, r)}merged/${segment('model name', model)}.safetensors`;
export const mergedTrainerKey = (runId: string, r: number, model: string = UNIFIED_MODEL): string =>
  `${roundPrefix(runId, r)}merged/${segment('model name', model)}.trainer.safetensors`;
export const roundManifestKey = (runId: string, r: number, model: string = UNIFIED_MODEL): string =>
  `${roundPrefix(runId, r)}merged/${segment('model name', model)}.manifest.json`;

function hex(kind: string, value: string): string {
  if (typeof value !== 'string' || !SHA256_PATTERN.test(value)) throw new StoreError('E_STORE_KEY', `invalid ${kind} ${JSON.stringify(value)}: expected 64 lower-case hex digits`);
  return value;
}

export const TEACHER_FILE_FORMATS = ['pth', 'safetensors'] as const;
/** A user's pretrained teacher file, by content. */
export const teacherFileKey = (sha256: string, format: (typeof TEACHER_FILE_FORMATS)[number]): string => {
  if (!TEACHER_FILE_FORMATS.includes(format)) throw new StoreError('E_STORE_KEY', `invalid teacher file format ${JSON.stringify(format)}`);
  return `teachers/files/${hex('teacher sha256', sha256)}.${format}`;
};
/** `teachers/self-supervised/<fp>/` — one self-made teacher and its pretraining state. */
export const pretextTeacherPrefix = (fingerprint: string): string => `teachers/self-supervised/${hex('teacher fingerprint', fingerprint)}/`;
export const pretextTeacherKey = (fp: string): string => `${pretextTeacherPrefix(fp)}teacher.safetensors`;
export const pretextTeacherRecordKey = (fp: string): string => `${pretextTeacherPrefix(fp)}teacher.json`;
export const pretextCheckpointKey = (fp: string): string => `${pretextTeacherPrefix(fp)}checkpoint.safetensors`;
export const pretextCheckpointTrainerKey = (fp: string): string => `${pretextTeacherPrefix(fp)}checkpoint.trainer.safetensors`;
export const pretextCheckpointStateKey = (fp: string): string => `${pretextTeacherPrefix(fp)}checkpoint.json`;

/** `runs/<run>/eval/<class>/` — one class's evaluation outputs. */
export const evalPrefix = (runId: string, className: string): string =>
  `${runPrefix(runId)}eval/${segment('class name', className)}/`;
export const evalMetricsKey = (runId: string, className: string): string => `${evalPrefix(runId, className)}metrics.json`;
export const heatmapKey = (runId: string, className: string, fileName: string): string =>
  `${evalPrefix(runId, className)}heatmaps/${segment('heatmap file name', fileName)}`;

export const reportKey = (runId: string, format: ReportFormat): string => {
  if (!REPORT_FORMATS.includes(format)) {
    throw new StoreError('E_STORE_KEY', `invalid report format ${JSON.stringify(format)}: expected one of ${REPORT_FORMATS.join(', ')}`);
  }
  return `${runPrefix(runId)}report/report.${format}`;
};
