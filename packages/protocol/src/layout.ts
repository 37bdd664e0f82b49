/**
 * The store layout: every key the project reads or writes is built here, and only here. The
 * coordinator builds the keys a job writes and puts them in its payload; workers write the keys
 * they are given; @pmamba/store knows nothing of runs (it stores bytes under any valid key).
 * The strings are a stored contract — runs already in a store resume only if they never change
 * (packages/protocol/test/layout.test.ts pins each one).
 *
 *   runs/<run>/run.json                              run record (config + plan)
 *   runs/<run>/init.safetensors                      round 0's starting weights (from the seed)
 *   runs/<run>/manifest.json                         final run manifest, written last
 *   runs/<run>/rounds/<r>/<job>.safetensors          a train-shard job's output weights
 *   runs/<run>/rounds/<r>/<job>.trainer.safetensors  its final optimiser state
 *   runs/<run>/rounds/<r>/<job>.json                 its result record (samples, loss), written last
 *   runs/<run>/rounds/<r>/checkpoints/<job>.json     its resumable checkpoint's state record, written last,
 *   runs/<run>/rounds/<r>/checkpoints/<job>.s<step>.safetensors          naming the weights
 *   runs/<run>/rounds/<r>/checkpoints/<job>.trainer.s<step>.safetensors  and optimiser state of one step
 *   runs/<run>/rounds/<r>/merged/<model>.safetensors round r's aggregated weights
 *   runs/<run>/rounds/<r>/merged/<model>.trainer.safetensors  and averaged optimiser state
 *   runs/<run>/rounds/<r>/merged/<model>.manifest.json  round manifest, written last
 *   runs/<run>/eval/<model>.safetensors              the last round's weights with their fitted anomaly map (anomalyMap: residual-gaussian)
 *   runs/<run>/eval/<class>/metrics.json             evaluation after the last round
 *   runs/<run>/eval/<class>/heatmaps/<file>          its anomaly-map images
 *   runs/<run>/report/report.<md|csv|json|html>      its benchmark table
 *   runs/<run>/eval-at/<r>/<model>.safetensors       the weights after r rounds with their fitted anomaly map
 *   runs/<run>/eval-at/<r>/<class>/metrics.json      evaluation after r < last rounds (0: untrained),
 *   runs/<run>/eval-at/<r>/<class>/heatmaps/<file>   its heatmaps
 *   runs/<run>/eval-at/<r>/report/report.<fmt>       and its benchmark table
 *
 * Teachers are shared between runs (a sweep's variants, a schedule's retrains):
 *   teachers/files/<sha256>.<pth|safetensors>        a pretrained teacher file a run was given
 *   teachers/self-supervised/<fp>/teacher.safetensors  a teacher pretrained on a run's images
 *                                                   (torchvision names; `<fp>` fingerprints the
 *                                                   images and settings)
 *   teachers/self-supervised/<fp>/teacher.json      its record, written last: the teacher exists
 *   teachers/self-supervised/<fp>/checkpoint.json  resumable state, naming
 *   teachers/self-supervised/<fp>/checkpoint.{s<step>,trainer.s<step>}.safetensors  one step's files
 *
 * A sweep's runs are ordinary runs (`runs/<sweep>-v<variant>-s<seed>/`); what ties them together:
 *   sweeps/<sweep>/sweep.json                        the sweep manifest: variants × seeds, run ids, status
 *   sweeps/<sweep>/report/ablation.<md|csv|json|html>  the ablation table (and its plots, in the html)
 *
 * The model registry (@pmamba/registry):
 *   models/<name>/versions/<n>/version.json          a version's record, written last: the version exists
 *   models/<name>/versions/<n>/<model>.safetensors   its weights, copied from the source run
 *   models/<name>/versions/<n>/run.json              the source run's record
 *   models/<name>/versions/<n>/report.json           the source run's benchmark table
 *   models/<name>/champion.json                      the champion alias and the history of promotions
 *
 * Scheduled retraining:
 *   schedules/<name>/schedule.json                   a schedule: its config, timing and overlap policy
 *   schedules/<name>/firings/<stamp>.json            what one firing did (its run, or why it was skipped)
 *
 * `<model>` is `unified` in unified mode and the class name in per-class mode. Ids are checked
 * against ID_PATTERN, fingerprints and hashes against SHA256_PATTERN, and names taken from data
 * (classes, models, heatmap files) with isKeySegment: each is exactly one key segment.
 * A value that is not throws ProtocolError E_STORE_KEY.
 */
import { ProtocolError } from './errors.ts';
import { ID_PATTERN, MAX_SEGMENT_BYTES, SHA256_PATTERN, isKeySegment } from './primitives.ts';
import { REPORT_FORMATS, type ReportFormat } from './run-config.ts';

/** The model name used in keys (and run plans) in unified (one model for all classes) mode. */
export const UNIFIED_MODEL = 'unified';
/** The formats a given teacher file is stored as. */
export const TEACHER_FILE_FORMATS = ['pth', 'safetensors'] as const;
export type TeacherFileFormat = (typeof TEACHER_FILE_FORMATS)[number];

function invalid(message: string): never {
  throw new ProtocolError('E_STORE_KEY', message);
}

function id(kind: string, value: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    invalid(`invalid ${kind} ${JSON.stringify(value)}: use 1-128 letters, digits, '_' or '-', starting with a letter or digit`);
  }
  return value;
}

/** One key segment taken from data (a class, model or file name). */
function segment(kind: string, value: string): string {
  if (typeof value !== 'string' || !isKeySegment(value)) {
    const shown = JSON.stringify(value).slice(0, 80);
    invalid(`invalid ${kind} ${shown}: it must be a single path segment of at most ${MAX_SEGMENT_BYTES} bytes (UTF-8), without '/', '\\' or control characters, not '.' or '..'`);
  }
  return value;
}

/** The longest part of a defect folder name kept in a heatmap file name. */
const HEATMAP_DEFECT_CHARS = 80;

/**
 * The heatmap file name of a test image: `<defect>_<image name>.png`, characters other than
 * letters, digits, '.', '_' and '-' replaced by '_', the defect part shortened, so any folder
 * names give a valid, readable key segment.
 */
export function heatmapFileName(defect: string, imageStem: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return segment('heatmap file name', `${safe(defect).slice(0, HEATMAP_DEFECT_CHARS)}_${safe(imageStem).slice(0, 100)}.png`);
}

function hex(kind: string, value: string): string {
  if (typeof value !== 'string' || !SHA256_PATTERN.test(value)) invalid(`invalid ${kind} ${JSON.stringify(value)}: expected 64 lower-case hex digits`);
  return value;
}

function round(kind: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) invalid(`invalid ${kind} ${String(value)}: expected a non-negative integer`);
  return String(value);
}

/** A key prefix handed over in a payload (no trailing '/'), extended by one more segment. */
function under(prefix: string, name: string): string {
  if (typeof prefix !== 'string' || prefix === '' || prefix.endsWith('/')) invalid(`invalid key prefix ${JSON.stringify(prefix)}: expected a key without a trailing '/'`);
  return `${prefix}/${name}`;
}

// ---- a run ----

/** `runs/<run>/` — every artifact of a run. */
export const runPrefix = (runId: string): string => `runs/${id('run id', runId)}/`;
/** `runs/<run>/run.json` — the run record (config and plan). */
export const runRecordKey = (runId: string): string => `${runPrefix(runId)}run.json`;
/** `runs/<run>/init.safetensors` — round 0's starting weights, built from the seed. */
export const initWeightsKey = (runId: string): string => `${runPrefix(runId)}init.safetensors`;
/** `runs/<run>/manifest.json` — the final run manifest, written last. */
export const runManifestKey = (runId: string): string => `${runPrefix(runId)}manifest.json`;

// ---- a round ----

/** `runs/<run>/rounds/<r>/` — every artifact of one round. */
export const roundPrefix = (runId: string, r: number): string => `${runPrefix(runId)}rounds/${round('round', r)}/`;
/** `runs/<run>/rounds/<r>/<job>.safetensors` — a train-shard job's output weights. */
export const jobWeightsKey = (runId: string, r: number, jobId: string): string => `${roundPrefix(runId, r)}${id('job id', jobId)}.safetensors`;
/** `runs/<run>/rounds/<r>/<job>.trainer.safetensors` — its final optimiser state. */
export const jobTrainerKey = (runId: string, r: number, jobId: string): string => `${roundPrefix(runId, r)}${id('job id', jobId)}.trainer.safetensors`;
/** `runs/<run>/rounds/<r>/<job>.json` — its result record, written last. */
export const jobResultKey = (runId: string, r: number, jobId: string): string => `${roundPrefix(runId, r)}${id('job id', jobId)}.json`;
/**
 * `<base>.s<step>.safetensors` for a checkpoint base key `<base>.safetensors`: one step's file.
 * Checkpoint files are never overwritten — each step writes new ones and then its state record
 * names them — so a crash between any two writes leaves the last published checkpoint whole.
 */
export const checkpointVersionKey = (baseKey: string, step: number): string => {
  if (!baseKey.endsWith('.safetensors')) invalid(`invalid checkpoint base key ${JSON.stringify(baseKey)}: expected a .safetensors key`);
  if (!Number.isInteger(step) || step < 0) invalid(`invalid checkpoint step ${step}: expected a non-negative integer`);
  return `${baseKey.slice(0, -'.safetensors'.length)}.s${step}.safetensors`;
};
/** `<dir>/<name>.` for a checkpoint state key `<dir>/<name>.json`: the prefix every file of that checkpoint has (for removing them all). */
export const checkpointFilesPrefix = (stateKey: string): string => {
  if (!stateKey.endsWith('.json')) invalid(`invalid checkpoint state key ${JSON.stringify(stateKey)}: expected a .json key`);
  return stateKey.slice(0, -'json'.length);
};
/** `runs/<run>/rounds/<r>/checkpoints/<job>.safetensors` — base of its checkpoint's weights (checkpointVersionKey). */
export const checkpointWeightsKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}checkpoints/${id('job id', jobId)}.safetensors`;
/** `runs/<run>/rounds/<r>/checkpoints/<job>.trainer.safetensors` — base of its checkpoint's optimiser state. */
export const checkpointTrainerKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}checkpoints/${id('job id', jobId)}.trainer.safetensors`;
/** `runs/<run>/rounds/<r>/checkpoints/<job>.json` — its checkpoint's state record, written last. */
export const checkpointStateKey = (runId: string, r: number, jobId: string): string =>
  `${roundPrefix(runId, r)}checkpoints/${id('job id', jobId)}.json`;
/** `runs/<run>/rounds/<r>/merged/<model>.safetensors` — round r's aggregated weights. */
export const mergedWeightsKey = (runId: string, r: number, model: string = UNIFIED_MODEL): string =>
  `${roundPrefix(runId, r)}merged/${segment('model name', model)}.safetensors`;
/** `runs/<run>/rounds/<r>/merged/<model>.trainer.safetensors` — round r's averaged optimiser state. */
export const mergedTrainerKey = (runId: string, r: number, model: string = UNIFIED_MODEL): string =>
  `${roundPrefix(runId, r)}merged/${segment('model name', model)}.trainer.safetensors`;
/** `runs/<run>/rounds/<r>/merged/<model>.manifest.json` — round r's manifest, written last: the round is complete. */
export const roundManifestKey = (runId: string, r: number, model: string = UNIFIED_MODEL): string =>
  `${roundPrefix(runId, r)}merged/${segment('model name', model)}.manifest.json`;

// ---- evaluations ----
// `earlierRound` undefined: the evaluation after the last round; a number r: the one after r
// rounds (0: the untrained model), kept apart under eval-at/<r>/.

/** `runs/<run>/eval/` or `runs/<run>/eval-at/<r>/` — one evaluation's outputs. */
export const evaluationPrefix = (runId: string, earlierRound?: number): string =>
  earlierRound === undefined ? `${runPrefix(runId)}eval/` : `${runPrefix(runId)}eval-at/${round('evaluation round', earlierRound)}/`;
/**
 * `runs/<run>/eval/<model>.safetensors` (or `eval-at/<r>/<model>.safetensors`) — the weights an
 * evaluation scores with, when its anomaly map is fitted (a fit-map job's output). A model and
 * a class may share a name (per-class mode): the `.safetensors` file and the class folder differ.
 */
export const fittedWeightsKey = (runId: string, model: string, earlierRound?: number): string =>
  `${evaluationPrefix(runId, earlierRound)}${segment('model name', model)}.safetensors`;
/** `runs/<run>/eval/<class>/metrics.json` (or `eval-at/<r>/<class>/…`) — a class's evaluation record. */
export const evalMetricsKey = (runId: string, className: string, earlierRound?: number): string =>
  `${evaluationPrefix(runId, earlierRound)}${segment('class name', className)}/metrics.json`;
/** `runs/<run>/eval/<class>/heatmaps` (or `eval-at/<r>/<class>/heatmaps`) — prefix, without '/', of a class's heatmap images. */
export const heatmapsPrefix = (runId: string, className: string, earlierRound?: number): string =>
  `${evaluationPrefix(runId, earlierRound)}${segment('class name', className)}/heatmaps`;
/** `<heatmapsPrefix>/<file>` — one anomaly-map image; the evaluate job names the file after its test image. */
export const heatmapKey = (prefix: string, fileName: string): string => under(prefix, segment('heatmap file name', fileName));
/** `runs/<run>/report` (or `runs/<run>/eval-at/<r>/report`) — prefix, without '/', of an evaluation's report files. */
export const reportPrefix = (runId: string, earlierRound?: number): string =>
  earlierRound === undefined ? `${runPrefix(runId)}report` : `${evaluationPrefix(runId, earlierRound)}report`;
/** `runs/<run>/report/report.<fmt>` (or `runs/<run>/eval-at/<r>/report/report.<fmt>`) — a benchmark table. */
export const reportKey = (runId: string, format: ReportFormat, earlierRound?: number): string => {
  if (!REPORT_FORMATS.includes(format)) invalid(`invalid report format ${JSON.stringify(format)}: expected one of ${REPORT_FORMATS.join(', ')}`);
  return `${reportPrefix(runId, earlierRound)}/report.${format}`;
};

// ---- teachers ----

/** `teachers/files/<sha256>.<pth|safetensors>` — a user's pretrained teacher file, by content. */
export const teacherFileKey = (sha256: string, format: TeacherFileFormat): string => {
  if (!TEACHER_FILE_FORMATS.includes(format)) invalid(`invalid teacher file format ${JSON.stringify(format)}: expected one of ${TEACHER_FILE_FORMATS.join(', ')}`);
  return `teachers/files/${hex('teacher sha256', sha256)}.${format}`;
};
/** `teachers/self-supervised/<fp>/` — one self-made teacher and its pretraining state. */
export const pretextTeacherPrefix = (fingerprint: string): string => `teachers/self-supervised/${hex('teacher fingerprint', fingerprint)}/`;
/** `teachers/self-supervised/<fp>/teacher.safetensors` — the teacher's weights (torchvision names). */
export const pretextTeacherKey = (fp: string): string => `${pretextTeacherPrefix(fp)}teacher.safetensors`;
/** `teachers/self-supervised/<fp>/teacher.json` — its record, written last: the teacher exists. */
export const pretextTeacherRecordKey = (fp: string): string => `${pretextTeacherPrefix(fp)}teacher.json`;
/** `teachers/self-supervised/<fp>/checkpoint.safetensors` — the pretraining checkpoint's weights. */
export const pretextCheckpointKey = (fp: string): string => `${pretextTeacherPrefix(fp)}checkpoint.safetensors`;
/** `teachers/self-supervised/<fp>/checkpoint.trainer.safetensors` — its optimiser state. */
export const pretextCheckpointTrainerKey = (fp: string): string => `${pretextTeacherPrefix(fp)}checkpoint.trainer.safetensors`;
/** `teachers/self-supervised/<fp>/checkpoint.json` — its state record, written last. */
export const pretextCheckpointStateKey = (fp: string): string => `${pretextTeacherPrefix(fp)}checkpoint.json`;

// ---- sweeps ----

/** `sweeps/<sweep>/` — a sweep's manifest and ablation table. */
export const sweepPrefix = (sweep: string): string => `sweeps/${id('sweep name', sweep)}/`;
/** `sweeps/<sweep>/sweep.json` — the sweep manifest: its variants × seeds, their runs and status. */
export const sweepManifestKey = (sweep: string): string => `${sweepPrefix(sweep)}sweep.json`;
/** `sweeps/<sweep>/report/ablation.<fmt>` — the ablation table. */
export const sweepReportKey = (sweep: string, format: ReportFormat): string => {
  if (!REPORT_FORMATS.includes(format)) invalid(`invalid report format ${JSON.stringify(format)}: expected one of ${REPORT_FORMATS.join(', ')}`);
  return `${sweepPrefix(sweep)}report/ablation.${format}`;
};
/** `<sweep>-v<variant>-s<seed>` — the run id of one variant and seed of a sweep. */
export const sweepRunId = (sweep: string, variant: number, seed: number): string =>
  id('sweep run id', `${id('sweep name', sweep)}-v${round('sweep variant', variant)}-s${round('sweep seed', seed)}`);

// ---- the model registry ----

function version(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1) invalid(`invalid model version ${String(n)}: expected a positive integer`);
  return String(n);
}

/** `models/` — prefix of every registered model (list it to find them). */
export const MODELS_PREFIX = 'models/';
/** `models/<name>/` — every version of a registered model and its champion alias. */
export const modelPrefix = (name: string): string => `${MODELS_PREFIX}${id('model name', name)}/`;
/** `models/<name>/versions/` — prefix of every version (list it to find them). */
export const modelVersionsPrefix = (name: string): string => `${modelPrefix(name)}versions/`;
/** `models/<name>/versions/<n>/` — one version's files. */
export const modelVersionPrefix = (name: string, n: number): string => `${modelVersionsPrefix(name)}${version(n)}/`;
/** `models/<name>/versions/<n>/version.json` — the version's record, written last: the version exists. */
export const modelVersionRecordKey = (name: string, n: number): string => `${modelVersionPrefix(name, n)}version.json`;
/** `models/<name>/versions/<n>/<model>.safetensors` — its weights (`unified`, or one per class). */
export const modelVersionWeightsKey = (name: string, n: number, model: string = UNIFIED_MODEL): string =>
  `${modelVersionPrefix(name, n)}${segment('model name', model)}.safetensors`;
/** `models/<name>/versions/<n>/run.json` — the record of the run it came from. */
export const modelVersionRunKey = (name: string, n: number): string => `${modelVersionPrefix(name, n)}run.json`;
/** `models/<name>/versions/<n>/report.json` — that run's benchmark table. */
export const modelVersionReportKey = (name: string, n: number): string => `${modelVersionPrefix(name, n)}report.json`;
/** `models/<name>/champion.json` — which version is the champion, and every promotion so far. */
export const modelChampionKey = (name: string): string => `${modelPrefix(name)}champion.json`;

// ---- schedules ----

/** `schedules/` — prefix of every schedule (list it to find them). */
export const SCHEDULES_PREFIX = 'schedules/';
/** `schedules/<name>/` — one schedule and its firings. */
export const schedulePrefix = (name: string): string => `${SCHEDULES_PREFIX}${id('schedule name', name)}/`;
/** `schedules/<name>/schedule.json` — the schedule: config, timing, overlap policy. */
export const scheduleKey = (name: string): string => `${schedulePrefix(name)}schedule.json`;
/** `schedules/<name>/firings/` — prefix of its firing records. */
export const scheduleFiringsPrefix = (name: string): string => `${schedulePrefix(name)}firings/`;
/** `schedules/<name>/firings/<stamp>.json` — what one firing did; `<stamp>` is an id (e.g. runIdStamp of its time). */
export const scheduleFiringKey = (name: string, stamp: string): string => `${scheduleFiringsPrefix(name)}${id('firing stamp', stamp)}.json`;
