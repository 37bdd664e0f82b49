/**
 * What `pmamba sweep` does: plan the sweep (or load it to resume), bring up Redis and workers,
 * run its variants × seeds through @pmamba/coordinator's runSweep with a line per event on
 * stderr, then print the ablation table, the sweep's overhead over its runs, and copy the
 * report files to a folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Coordinator, createSweep, loadSweepManifest, planSweep, runSweep, type SweepEvent, type SweepOutcome, type SweepPlanOptions } from '@pmamba/coordinator';
import { DEFAULT_REDIS_PREFIX, DEFAULT_STORE_URL, layout, parseRunConfig, type SweepManifest } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { CliError } from './errors.ts';
import { handleInterrupts } from './interrupts.ts';
import { startServices, type Services } from './services.ts';
import { checkRedisPrefix } from './redis.ts';
import { teacherWeightsFile } from './teacher-file.ts';
import { absoluteStoreUrl, usableFolder } from './train-run.ts';

export interface SweepRunOptions {
  /** A new sweep: the config as read (CLI overrides applied) and the plan choices. */
  source?: { name: string; value: Record<string, unknown>; lineOf?: (path: string) => number | undefined };
  plan?: SweepPlanOptions;
  /** Or the name of a sweep to resume. */
  resume?: string;
  storeUrl?: string;
  redisUrl?: string;
  prefix?: string;
  reportDir?: string;
  localWorkers?: number;
  backend: string;
  workerArgs?: string[];
  log?: (line: string) => void;
}

const pct = (v: number | null | undefined): string => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '—');

function describe(event: SweepEvent, log: (line: string) => void): void {
  switch (event.type) {
    case 'sweep-started': {
      const m = event.manifest;
      const runs = m.variants.length * m.seeds.length;
      log(
        `pmamba: ${event.resumed ? 'resuming' : 'starting'} sweep ${m.name}: ${m.variants.length} variant(s) × ${m.seeds.length} seed(s) = ${runs} run(s), ` +
          `${event.pending} to do, at most ${m.maxParallel} at once${m.earlyStopping ? `, early stopping: ${m.earlyStopping.rule}` : ''}`,
      );
      return;
    }
    case 'sweep-run-started':
      log(`[${event.runId}] ${event.resumed ? 'resuming' : 'started'}: ${event.label || '(base config)'}, seed ${event.seed}`);
      return;
    case 'sweep-run-finished': {
      const r = event.run;
      const what = r.status === 'failed' ? `failed: ${r.reason}` : `${r.status}${r.stoppedAt ? ` after round ${r.stoppedAt} (${r.reason})` : ''}: mAD ${pct(r.result?.mad)}`;
      log(`[${r.runId}] ${what} (${(r.seconds ?? 0).toFixed(0)} s)`);
      return;
    }
    case 'run-event': {
      const e = event.event;
      if (e.type === 'round-finished' && !e.fromStore) log(`[${event.runId}] round ${e.round + 1}/${e.rounds}${e.model === layout.UNIFIED_MODEL ? '' : ` of ${e.model}`} done, loss ${e.loss.toFixed(4)}`);
      else if (e.type === 'evaluation-finished') log(`[${event.runId}] evaluation ${e.atRound === 0 ? 'untrained' : `after round ${e.atRound}`}: mAD ${pct(e.result.table.mean.mad)}`);
      else if (e.type === 'teacher-started') log(`[${event.runId}] teacher: pretraining (fingerprint ${e.fingerprint.slice(0, 12)}…; the sweep's other runs reuse it)`);
      else if (e.type === 'no-workers') log(`pmamba: no worker has taken ${e.queue} jobs for ${e.seconds} s; start some with \`pmamba worker\``);
      else if (e.type === 'warning') log(`[${event.runId}] ${e.message}`);
      return;
    }
  }
}

export async function sweepRun(options: SweepRunOptions): Promise<SweepOutcome> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let store: ArtifactStore | undefined;
  let services: Services | undefined;
  const coordinators = new Set<Coordinator>();
  const interrupts = handleInterrupts('the sweep', () => coordinators.forEach((c) => void c.close()), log);
  try {
    const reportDir = options.reportDir ? await usableFolder(options.reportDir) : undefined;
    const base = options.source ? parseRunConfig(options.source.value, options.source.name) : undefined;
    const storeUrl = absoluteStoreUrl(options.storeUrl ?? base?.store.url ?? DEFAULT_STORE_URL);
    store = await openStore(storeUrl);
    let manifest: SweepManifest;
    if (options.resume) manifest = await loadSweepManifest(store, options.resume);
    else {
      manifest = planSweep(options.source!, options.plan);
      // A cluster without a hash-tagged prefix fails before the sweep is recorded.
      checkRedisPrefix([options.redisUrl, process.env.REDIS_URL, base!.redis.url], options.prefix ?? base!.redis.prefix ?? DEFAULT_REDIS_PREFIX);
      await createSweep(store, manifest);
    }
    const config = base ?? parseRunConfig(manifest.source, manifest.sourceName);
    const prefix = options.prefix ?? config.redis.prefix ?? DEFAULT_REDIS_PREFIX;
    services = await startServices({
      redisUrls: [options.redisUrl, process.env.REDIS_URL, config.redis.url],
      prefix,
      storeUrl,
      localWorkers: options.localWorkers,
      defaultWorkers: config.training.workers,
      backend: options.backend,
      workerArgs: options.workerArgs,
      log,
    });
    interrupts.hint = `sweep ${manifest.name} stopped; continue it with \`pmamba sweep --resume ${manifest.name} ${services.where}\``;
    const connection = services.redis.connection;
    const st = store;
    let outcome: SweepOutcome;
    try {
      outcome = await runSweep(
        manifest,
        {
          store: st,
          coordinator: (onEvent) => {
            const c = new Coordinator({ connection, prefix, store: st, onEvent });
            coordinators.add(c);
            if (interrupts.interrupted) void c.close();
            return c;
          },
          plan: { onWarning: (w) => log(`pmamba: warning [${w.code}] ${w.message}`) },
          teacherWeightsFile: (c) => teacherWeightsFile(c),
          onEvent: (e) => describe(e, log),
        },
        options.resume !== undefined,
      );
    } catch (err) {
      if (interrupts.interrupted) throw new CliError(interrupts.hint!, 'E_STOPPED', { cause: err });
      throw err;
    }
    const { report } = outcome;
    process.stdout.write(`\n## sweep ${manifest.name}\n\n${report.markdown}\n`);
    const overhead = outcome.runSeconds > 0 ? ` (${(((outcome.wallSeconds * manifest.maxParallel) / outcome.runSeconds - 1) * 100).toFixed(1)}% over the runs × ${manifest.maxParallel} slot(s))` : '';
    process.stdout.write(`wall ${outcome.wallSeconds.toFixed(0)} s; runs ${outcome.runSeconds.toFixed(0)} s in all${overhead}; table at ${storeUrl} ${layout.sweepReportKey(manifest.name, 'md')}\n`);
    if (reportDir) {
      await mkdir(reportDir, { recursive: true });
      for (const a of report.artifacts) await writeFile(join(reportDir, a.key.slice(a.key.lastIndexOf('/') + 1)), await st.getBytes(a.key));
      process.stdout.write(`report: ${report.artifacts.length} file(s) under ${reportDir}; open ${join(reportDir, 'ablation.html')}\n`);
    }
    const failed = manifest.variants.flatMap((v) => v.runs).filter((r) => r.status === 'failed');
    if (failed.length > 0) {
      throw new CliError(`${failed.length} run(s) of sweep ${manifest.name} failed (${failed.map((r) => r.runId).join(', ')}); fix the cause and run \`pmamba sweep --resume ${manifest.name} ${services.where}\` to retry them`, 'E_SWEEP_FAILED');
    }
    return outcome;
  } finally {
    interrupts.dispose();
    await Promise.allSettled([...coordinators].map((c) => c.close()));
    await services?.stop();
    await store?.close();
  }
}
