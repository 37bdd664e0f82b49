/**
 * Fabricated finished runs for registry tests: what a run leaves in the store when it is done
 * (run.json, final weights, report.json, manifest.json written last), every record built with
 * the protocol's parse functions so it is schema-valid. No training happens.
 *
 *   await writeFinishedRun(store, { runId: 'r1', mad: 0.8 });
 */
import { randomBytes } from 'node:crypto';
import {
  layout, parseRunConfig, parseRunManifest, parseRunRecord, type ArtifactRef, type ClassMetrics, type RunConfigInput, type RunRecord, type ReportTable,
} from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';

export const FINGERPRINT_A = 'a'.repeat(64);
export const FINGERPRINT_B = 'b'.repeat(64);

export interface FinishedRunOptions {
  runId: string;
  /** The mean's mAD (each class gets it too); null: undefined. */
  mad: number | null;
  /** Evaluation-data fingerprint. Default: FINGERPRINT_A. */
  fingerprint?: string;
  classes?: string[];
  mode?: 'unified' | 'per-class';
  /** Final weights per model. Default: random bytes. */
  weights?: Record<string, Uint8Array>;
  /** Sections of the run config (default: 64² images, small preset). */
  config?: RunConfigInput;
  /** Write manifest.json (the run is finished). Default: true. */
  finished?: boolean;
}

function metrics(mad: number | null): ClassMetrics {
  const v = mad === null ? 0.9 : mad;
  return { i_auroc: v, i_ap: v, i_f1max: v, p_auroc: v, p_ap: mad === null ? null : v, p_f1max: v, au_pro: v, mad };
}

/** Writes a finished (or, with finished: false, unfinished) run; returns its record and table. */
export async function writeFinishedRun(store: ArtifactStore, o: FinishedRunOptions): Promise<{ run: RunRecord; table: ReportTable }> {
  const classes = o.classes ?? ['carpet', 'disc'];
  const mode = o.mode ?? 'unified';
  const models = mode === 'unified' ? [layout.UNIFIED_MODEL] : classes;
  const config = parseRunConfig({ dataset: { root: '/data/synth', imageSize: 64 }, training: { mode, rounds: 1, localSteps: 2 }, ...o.config }, 'test config');
  const run = parseRunRecord({
    kind: 'pmamba.run',
    version: 1,
    runId: o.runId,
    createdAt: '2026-12-06T03:00:00.000Z',
    config,
    plan: {
      mode,
      classes,
      models,
      shards: classes.map((c) => ({ id: `${c}/0`, className: c, index: 0, items: [`${c}/train/good/000.png`] })),
      rounds: 1,
      evaluationData: { fingerprint: o.fingerprint ?? FINGERPRINT_A, images: 12 },
    },
    spec: {
      model: {},
      imageSize: config.dataset.imageSize,
      seed: 7,
      batchSize: 8,
      optimizer: { weightDecay: 0.01, betas: [0.9, 0.999], clipNorm: 0 },
      teacher: { source: 'random', batchNorm: 'calibrate', stem: 'gaussian' },
      dataset: { root: '/data/synth', format: 'mvtec', classes, badImagePolicy: 'fail' },
    },
    software: { pmamba: '0.1.0', node: process.version },
  });
  await store.putJson(layout.runRecordKey(o.runId), run);
  const table: ReportTable = { classes: Object.fromEntries(classes.map((c) => [c, metrics(o.mad)])), mean: metrics(o.mad) };
  const finalWeights: Record<string, ArtifactRef> = {};
  for (const m of models) {
    const written = await store.putBytes(layout.mergedWeightsKey(o.runId, 0, m), o.weights?.[m] ?? randomBytes(256));
    finalWeights[m] = { key: written.key, sha256: written.sha256, size: written.size };
  }
  const report = await store.putJson(layout.reportKey(o.runId, 'json'), table);
  if (o.finished === false) return { run, table };
  const manifest = parseRunManifest({
    kind: 'pmamba.run-manifest',
    version: 1,
    runId: o.runId,
    rounds: 1,
    models: finalWeights,
    report: [{ key: report.key, sha256: report.sha256, size: report.size }],
    table,
    createdAt: '2026-12-06T04:00:00.000Z',
  });
  await store.putJson(layout.runManifestKey(o.runId), manifest);
  return { run, table };
}
