/**
 * Runs a sweep: every variant × seed is an ordinary run (planned, trained and evaluated by a
 * Coordinator like `pmamba train`'s), at most `maxParallel` at once, sharing the same workers.
 * The manifest in the store is rewritten after every change, by this process only; resuming
 * keeps done and stopped runs, and the others continue from what their runs hold (finished
 * rounds are not trained again). With early stopping `median`, a run whose mAD after an
 * evaluated round is below the median of its peers' at that round stops there.
 *
 * Nothing is prepared twice: runs on the same images plan from one read of the dataset (decoded
 * and fingerprinted once); a self-made teacher is cached in the store by a fingerprint of the
 * images and the teacher's settings (student settings such as the pyramid do not enter it),
 * and runs in flight that need the same one wait on the same pretraining job.
 */
import {
  layout,
  parseSweepManifest,
  type ReportResult,
  type RunConfig,
  type RunRecord,
  type SweepManifest,
  type SweepRun,
} from '@pmamba/protocol';
import { isStoreError, type ArtifactStore } from '@pmamba/store';
import type { Coordinator, CoordinatorEvent } from './coordinator.ts';
import { loadRun } from './coordinator.ts';
import { CoordinatorError } from './errors.ts';
import { planRun, type PlanOptions } from './plan.ts';
import { sweepRunConfig, sweepVariants } from './sweep-plan.ts';
import { writeSweepReport, type SweepReport } from './sweep-report.ts';

export type SweepEvent =
  | { type: 'sweep-started'; manifest: SweepManifest; resumed: boolean; pending: number }
  | { type: 'sweep-run-started'; runId: string; label: string; seed: number; resumed: boolean }
  | { type: 'sweep-run-finished'; run: SweepRun; label: string }
  /** What the run's coordinator reports (rounds, jobs), tagged with the run. */
  | { type: 'run-event'; runId: string; event: CoordinatorEvent };

export interface SweepOptions {
  store: ArtifactStore;
  /** A coordinator for one run, reporting to `onEvent` (one per run in flight, so events name their run). */
  coordinator: (onEvent: (event: CoordinatorEvent) => void) => Coordinator;
  /** Planning options of each run (warnings, cwd); the run id and store are the sweep's. */
  plan?: Omit<PlanOptions, 'runId' | 'store' | 'teacherWeightsFile'>;
  /** A local copy of a run config's `model.teacher.weights` (a URL downloaded), if any. */
  teacherWeightsFile?: (config: RunConfig) => Promise<string | undefined>;
  onEvent?: (event: SweepEvent) => void;
  now?: () => Date;
}

export interface SweepOutcome {
  manifest: SweepManifest;
  report: SweepReport;
  /** Wall seconds of this invocation, and the sum of its runs' wall seconds. */
  wallSeconds: number;
  runSeconds: number;
}

/** Reads a sweep's manifest; E_SWEEP_NOT_FOUND names the store. */
export async function loadSweepManifest(store: ArtifactStore, name: string): Promise<SweepManifest> {
  const key = layout.sweepManifestKey(name);
  try {
    return await store.getJson(key, (v) => parseSweepManifest(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) throw new CoordinatorError('E_SWEEP_NOT_FOUND', `no sweep ${name} in ${store.url} (no ${key}); check --store and the name`);
    throw err;
  }
}

/** Writes a new sweep's manifest; E_SWEEP if the store holds one by that name. */
export async function createSweep(store: ArtifactStore, manifest: SweepManifest): Promise<void> {
  const key = layout.sweepManifestKey(manifest.name);
  if (await store.exists(key)) {
    throw new CoordinatorError('E_SWEEP', `sweep ${manifest.name} already exists in ${store.url} (${key}); continue it with \`pmamba sweep --resume ${manifest.name}\`, or name a new one (--name)`);
  }
  await store.putJson(key, manifest);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median rule: undefined to go on, else why this run stops. */
export function medianStop(manifest: SweepManifest, variantIndex: number, round: number, mad: number | null): string | undefined {
  const rule = manifest.earlyStopping;
  if (!rule || mad === null) return undefined;
  const peers = manifest.variants
    .filter((v) => v.index !== variantIndex)
    .flatMap((v) => v.runs)
    .map((r) => r.evaluated[String(round)])
    .filter((v): v is number => typeof v === 'number');
  if (peers.length < rule.minPeers) return undefined;
  const m = median(peers);
  if (mad >= m) return undefined;
  return `mAD ${(mad * 100).toFixed(1)}% after round ${round} is below the median ${(m * 100).toFixed(1)}% of ${peers.length} peer run(s)`;
}

export async function runSweep(manifest: SweepManifest, options: SweepOptions, resumed = false): Promise<SweepOutcome> {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const started = Date.now();
  const variants = sweepVariants(manifest);
  const key = layout.sweepManifestKey(manifest.name);
  // One writer, one write at a time: each save writes the manifest as it is when its turn comes.
  let saving: Promise<unknown> = Promise.resolve();
  const save = (): Promise<void> => {
    const next = saving.then(() => store.putJson(key, manifest));
    saving = next.catch(() => undefined);
    return next.then(() => undefined);
  };

  const queue = manifest.variants.flatMap((v) => v.runs.filter((r) => r.status !== 'done' && r.status !== 'stopped').map((run) => ({ variant: v, run })));
  options.onEvent?.({ type: 'sweep-started', manifest, resumed, pending: queue.length });
  let runSeconds = 0;
  let halted: unknown;
  // Runs on the same images plan from one read of them (every image decoded and hashed once).
  const datasets: PlanOptions['datasets'] = new Map();

  const runOne = async (variantIndex: number, run: SweepRun): Promise<void> => {
    const variant = variants[variantIndex];
    const label = manifest.variants[variantIndex].label;
    const config = sweepRunConfig(manifest, variant, run.seed);
    const coordinator = options.coordinator((event) => options.onEvent?.({ type: 'run-event', runId: run.runId, event }));
    const t0 = Date.now();
    try {
      let record: RunRecord;
      const exists = await store.exists(layout.runRecordKey(run.runId));
      if (exists) {
        record = await loadRun(store, run.runId);
      } else {
        record = await planRun(config, { datasets, ...options.plan, runId: run.runId, store, teacherWeightsFile: await options.teacherWeightsFile?.(config) });
        await coordinator.createRun(record);
      }
      Object.assign(run, { status: 'running', startedAt: now().toISOString(), reason: undefined });
      await save();
      options.onEvent?.({ type: 'sweep-run-started', runId: run.runId, label, seed: run.seed, resumed: exists });
      const onEvaluated = async (atRound: number, result: ReportResult): Promise<boolean> => {
        const mad = result.table.mean.mad;
        run.evaluated[String(atRound)] = mad;
        const why = medianStop(manifest, variantIndex, atRound, mad);
        await save();
        return why === undefined || ((run.reason = why), false);
      };
      const outcome = await coordinator.run(record, exists, { onEvaluated });
      const last = outcome.evaluations.at(-1)!;
      Object.assign(run, {
        status: outcome.stoppedAt === undefined ? 'done' : 'stopped',
        stoppedAt: outcome.stoppedAt,
        result: last.result.table.mean,
      });
    } catch (err) {
      // A stop (Ctrl-C, a closed coordinator) leaves the run to resume; anything else fails it.
      if (halted !== undefined || (err as { code?: string }).code === 'E_STOPPED') {
        halted ??= err;
        return;
      }
      Object.assign(run, { status: 'failed', reason: (err as Error).message.split('\n')[0] });
    } finally {
      await coordinator.close();
      const seconds = (Date.now() - t0) / 1000;
      if (run.status !== 'running') {
        Object.assign(run, { finishedAt: now().toISOString(), seconds });
        runSeconds += seconds;
        options.onEvent?.({ type: 'sweep-run-finished', run, label });
      }
      await save();
    }
  };

  // At most maxParallel runs in flight; each slot takes the next pending run.
  let next = 0;
  const slot = async (): Promise<void> => {
    while (halted === undefined && next < queue.length) {
      const { variant, run } = queue[next++];
      await runOne(variant.index, run);
    }
  };
  await Promise.all(Array.from({ length: Math.min(manifest.maxParallel, Math.max(queue.length, 1)) }, slot));
  await saving;
  if (halted !== undefined) throw halted;
  const report = await writeSweepReport(store, manifest);
  return { manifest, report, wallSeconds: (Date.now() - started) / 1000, runSeconds };
}
