/**
 * What `pmamba train` and `pmamba demo` do: check the report folder, plan the run (or load it to
 * resume), then bring up Redis (or use the given one) and optionally local worker processes, drive it with progress on stderr, print the
 * benchmark tables (untrained and trained) on stdout and copy the report files to a folder.
 * Business logic lives in @pmamba/coordinator; this file wires services and output.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Coordinator, loadRun, planRun, reportMarkdown, saveReport, type RunOutcome } from '@pmamba/coordinator';
import { CliError } from './errors.ts';
import { DEFAULT_REDIS_PREFIX, DEFAULT_STORE_URL, layout, type RunConfig, type RunRecord } from '@pmamba/protocol';
import { openStore, parseStoreUrl, type ArtifactStore } from '@pmamba/store';
import { teacherWeightsFile } from './teacher-file.ts';
import { RunProgress } from './progress.ts';
import { handleInterrupts } from './interrupts.ts';
import { createLogger, knownSecrets, type LogFormat } from './log.ts';
import { startServices, type Services } from './services.ts';
import { checkRedisPrefix } from './redis.ts';

export interface TrainRunOptions {
  /** A validated config (new run), or undefined with `resume`. */
  config?: RunConfig;
  resume?: string;
  storeUrl?: string;
  redisUrl?: string;
  prefix?: string;
  runId?: string;
  reportDir?: string;
  /** Worker processes to start here; default: training.workers when a private Redis is started (nothing else can reach it), else 0. */
  localWorkers?: number;
  backend: string;
  /** Extra arguments for local workers. */
  workerArgs?: string[];
  /** `json`: the coordinator's lines as JSON (pino) with run, round and job ids. Default: the plain lines and bars. */
  logFormat?: LogFormat;
}

/** A file:// URL made absolute, so worker processes with another working directory find the same folder. */
export function absoluteStoreUrl(url: string): string {
  const where = parseStoreUrl(url);
  return where.kind === 'file' ? `file://${where.path}` : url;
}

function percent(v: number | null): string {
  return v === null ? '—' : `${(v * 100).toFixed(1)}%`;
}

function printTables(outcome: RunOutcome, record: RunRecord): void {
  const columns = record.config.evaluation.metrics;
  for (const { atRound, result } of outcome.evaluations) {
    const what = atRound === 0 ? 'untrained model (initial weights)' : `after ${atRound} of ${record.plan.rounds} round(s)`;
    process.stdout.write(`\n## ${record.runId}: ${what}\n\n${reportMarkdown(result.table, columns)}\n`);
  }
  process.stdout.write(`\n${outcome.teacher}\n`);
  const first = outcome.evaluations[0].result.table.mean.mad;
  const last = outcome.evaluations.at(-1)!.result.table.mean.mad;
  if (outcome.evaluations.length > 1) {
    const delta = first !== null && last !== null ? ` (${last >= first ? '+' : ''}${((last - first) * 100).toFixed(1)} points)` : '';
    process.stdout.write(`\nmean mAD: untrained ${percent(first)} → trained ${percent(last)}${delta}\n`);
    const e = record.config.evaluation;
    if (e.anomalyMap === 'memory' && e.memory.features === 'teacher') {
      process.stdout.write('(the anomaly map is a memory bank of teacher features: it does not read the student, so training does not change it)\n');
    }
  }
}

/** The report folder, created now so that a path under a file fails before the run, not after it. */
export async function usableFolder(path: string): Promise<string> {
  const dir = resolve(path);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new CliError(`--report ${path}: cannot write a report there (${(err as Error).message})`, 'E_BAD_OPTION');
  }
  return dir;
}

export async function trainRun(options: TrainRunOptions): Promise<RunOutcome> {
  const logger = options.logFormat === 'json'
    ? await createLogger({ name: 'pmamba train', format: 'json', secrets: knownSecrets(process.env, [options.redisUrl, process.env.REDIS_URL]) })
    : undefined;
  const progress = new RunProgress(process.stderr, logger);
  let store: ArtifactStore | undefined;
  let services: Services | undefined;
  let coordinator: Coordinator | undefined;
  const interrupts = handleInterrupts('the run', () => void coordinator?.close(), (line) => progress.log(line));
  try {
    const config = options.config;
    // Everything that can fail without Redis or workers fails first: the report folder, the
    // store, the plan (config against dataset and model, every image decoded).
    const reportDir = options.reportDir ? await usableFolder(options.reportDir) : undefined;
    if (config?.sweep) progress.log('pmamba: note: this config has a sweep block; `pmamba train` runs its base config, `pmamba sweep -c FILE` runs the variants');
    const storeUrl = absoluteStoreUrl(options.storeUrl ?? config?.store.url ?? DEFAULT_STORE_URL);
    store = await openStore(storeUrl);
    let record = options.resume ? await loadRun(store, options.resume) : undefined;
    const isNew = !record;
    const prefix = options.prefix ?? (record?.config ?? config!).redis.prefix ?? DEFAULT_REDIS_PREFIX;
    const redisUrls = [options.redisUrl, process.env.REDIS_URL, config?.redis.url];
    // A cluster without a hash-tagged prefix fails now, not after planning.
    checkRedisPrefix(redisUrls, prefix);
    if (!record) {
      let synth: ReturnType<RunProgress['counter']> | undefined;
      const teacherFile = await teacherWeightsFile(config!);
      record = await planRun(config!, {
        runId: options.runId,
        store,
        teacherWeightsFile: teacherFile,
        onSynthProgress: (done, total) => {
          synth ??= progress.counter('synthetic data set', total);
          synth.update(done);
          if (done === total) synth.stop();
        },
        onWarning: (w) => progress.log(`pmamba: warning [${w.code}] ${w.message}`),
      });
    }

    services = await startServices({
      redisUrls,
      prefix,
      storeUrl,
      localWorkers: options.localWorkers,
      defaultWorkers: record.config.training.workers,
      backend: options.backend,
      workerArgs: options.workerArgs,
      log: (line) => progress.log(line),
    });
    interrupts.hint = `run ${record.runId} stopped; continue it with \`pmamba train --resume ${record.runId} ${services.where}\``;
    coordinator = new Coordinator({ connection: services.redis.connection, prefix, store, onEvent: (e) => progress.handle(e) });
    if (isNew) {
      await coordinator.createRun(record);
      progress.log(`pmamba: run ${record.runId} planned: ${record.plan.shards.length} shard(s); record at ${storeUrl} ${layout.runRecordKey(record.runId)}`);
    }
    let outcome: RunOutcome;
    try {
      outcome = await coordinator.run(record, options.resume !== undefined);
    } catch (err) {
      // Interrupted, the run ends with whatever error the stop caused: the hint is what matters.
      if (interrupts.interrupted) throw new CliError(interrupts.hint!, 'E_STOPPED', { cause: err });
      throw err;
    }
    progress.stop();
    printTables(outcome, record);
    if (reportDir) {
      const dir = reportDir;
      const written: string[] = [];
      for (const { atRound, result } of outcome.evaluations) {
        const sub = atRound === record.plan.rounds ? dir : join(dir, atRound === 0 ? 'untrained' : `after-round-${atRound}`);
        written.push(...(await saveReport(store, result, sub)));
      }
      const html = written.find((p) => p === join(dir, 'report.html'));
      process.stdout.write(`\nreport: ${written.length} file(s) under ${dir}${html ? `; open ${html}` : ''}\n`);
    }
    return outcome;
  } finally {
    progress.stop();
    interrupts.dispose();
    await coordinator?.close();
    await services?.stop();
    await store?.close();
  }
}
