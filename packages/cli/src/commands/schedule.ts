/**
 * `pmamba schedule …`: scheduled retraining, kept in the artifact store and mirrored into BullMQ
 * job schedulers (a running `pmamba scheduler` sees changes at once when a Redis is given, else
 * at its next resync).
 *
 *   pmamba schedule add NAME -c CONFIG (--cron "0 3 * * 1" [--tz Europe/Rome] | --every 6h)
 *                           [--data ROOT] [--model NAME] [--overlap skip|queue]
 *   pmamba schedule list            pmamba schedule pause|resume|remove NAME
 */
import { isAbsolute, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { addSchedule, describeSchedules, removeSchedule, setSchedulePaused, type ScheduleSummary } from '@pmamba/coordinator';
import {
  DEFAULT_REDIS_PREFIX,
  DEFAULT_STORE_URL,
  SCHEDULE_OVERLAPS,
  describeTiming,
  modelSection,
  parseEvery,
  type RunConfig,
  type ScheduleFiring,
  type ScheduleOverlap,
  type ScheduleTiming,
} from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { CliError } from '../errors.ts';
import { resolveRedis, type RedisService } from '../redis.ts';
import { absoluteStoreUrl } from '../train-run.ts';
import { configWithOverrides } from './train.ts';

interface TargetArgs {
  store?: string;
  redis?: string;
  prefix?: string;
}

interface AddArgs extends TargetArgs {
  name: string;
  config: string;
  cron?: string;
  tz?: string;
  every?: string;
  data?: string;
  model?: string;
  overlap: ScheduleOverlap;
}

function withTarget<T>(y: Argv<T>): Argv<T & TargetArgs> {
  return y
    .option('store', { type: 'string', describe: `artifact store holding the schedules: file://DIR or s3://BUCKET/PREFIX (default: ${DEFAULT_STORE_URL})` })
    .option('redis', { type: 'string', describe: "the scheduler's Redis URL (default: REDIS_URL); without one only the store changes, and the scheduler follows at its next resync" })
    .option('prefix', { type: 'string', describe: `the scheduler's BullMQ key prefix (default: ${DEFAULT_REDIS_PREFIX})` }) as Argv<T & TargetArgs>;
}

const log = (line: string) => process.stderr.write(`pmamba schedule: ${line}\n`);
const print = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

/** Opens the store and, when a URL is given, Redis; runs `f`; closes both. */
async function onTarget<T>(args: TargetArgs, defaults: { store: string; prefix: string }, f: (store: ArtifactStore, redis: RedisService | undefined, prefix: string) => Promise<T>): Promise<T> {
  const store = await openStore(absoluteStoreUrl(args.store ?? defaults.store));
  let redis: RedisService | undefined;
  try {
    const url = [args.redis, process.env.REDIS_URL].find((u) => u !== undefined && u !== '');
    const prefix = args.prefix ?? defaults.prefix;
    redis = url === undefined ? undefined : await resolveRedis([url], { allowPrivate: false, prefix });
    return await f(store, redis, prefix);
  } finally {
    await redis?.stop();
    await store.close();
  }
}

function where(redis: RedisService | undefined, prefix: string): string {
  return redis ? `Redis ${redis.shownUrl} (prefix ${prefix})` : 'no Redis given: a running scheduler follows at its next resync (--resync, default 60 s)';
}

function timingOf(args: AddArgs): ScheduleTiming {
  if ((args.cron === undefined) === (args.every === undefined)) throw new CliError('give either --cron "PATTERN" or --every INTERVAL', 'E_BAD_OPTION');
  if (args.every !== undefined) {
    if (args.tz !== undefined) throw new CliError('--tz applies to --cron patterns, not to --every', 'E_BAD_OPTION');
    const every = parseEvery(args.every);
    if (every === undefined) throw new CliError(`--every ${JSON.stringify(args.every)}: expected an interval such as 30s, 15m, 6h, 1d or 1h30m`, 'E_BAD_OPTION');
    return { every };
  }
  return { cron: args.cron!, ...(args.tz ? { tz: args.tz } : {}) };
}

/** Paths in the config made absolute: the scheduler may run from another folder. */
function absolutePaths(config: RunConfig): RunConfig {
  const { teacher } = modelSection(config.model);
  const weights = teacher.weights !== undefined && !/^https?:\/\//i.test(teacher.weights) && !isAbsolute(teacher.weights) ? resolve(teacher.weights) : undefined;
  return {
    ...config,
    dataset: { ...config.dataset, root: resolve(config.dataset.root) },
    ...(weights ? { model: { ...config.model, teacher: { ...teacher, weights } } } : {}),
  };
}

const addCommand: CommandModule<object, AddArgs> = {
  command: 'add <name>',
  describe: 'add a schedule: train CONFIG at each firing, register the run as a version of the model',
  builder: (y) =>
    withTarget(y as Argv<object>)
      .positional('name', { type: 'string', demandOption: true, describe: 'schedule name: letters, digits, _ or -; names its runs <name>-<UTC time>' })
      .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'run config (YAML), read now and kept in the store' })
      .option('cron', { type: 'string', describe: 'cron pattern, e.g. "0 3 * * 1" (Mondays 03:00); 6 fields start with seconds' })
      .option('tz', { type: 'string', describe: 'IANA time zone of --cron, e.g. Europe/Rome (default: the local zone of each process computing the next firing)' })
      .option('every', { type: 'string', describe: 'fixed interval instead of --cron: 30s, 15m, 6h, 1d, 1h30m (the first firing is at once)' })
      .option('data', { type: 'string', describe: 'dataset root, overriding dataset.root' })
      .option('model', { type: 'string', describe: 'registered model the runs become versions of (default: the schedule name)' })
      .option('overlap', {
        choices: SCHEDULE_OVERLAPS,
        default: 'skip' as ScheduleOverlap,
        describe: 'a firing while the previous run still goes: skip it (recorded), or queue it to run next (one at most)',
      }) as unknown as Argv<AddArgs>,
  handler: async (args) => {
    const timing = timingOf(args);
    const config = absolutePaths(await configWithOverrides(args.config, { data: args.data, store: args.store }));
    await onTarget(args, { store: config.store.url, prefix: config.redis.prefix }, async (store, redis, prefix) => {
      const schedule = await addSchedule(store, redis ? { connection: redis.connection, prefix } : undefined, {
        name: args.name,
        config: { ...config, store: { url: store.url } },
        source: resolve(args.config),
        timing,
        model: args.model,
        overlap: args.overlap,
      });
      print(`schedule ${schedule.name} added to ${store.url}: ${describeTiming(schedule.timing)}, model ${schedule.model}, overlap ${schedule.overlap}`);
      log(where(redis, prefix));
    });
  },
};

function describeOutcome(f: ScheduleFiring): string {
  const o = f.outcome;
  switch (o.status) {
    case 'queued':
      return `queued behind ${o.behind}`;
    case 'running':
      return `running ${f.runId}`;
    case 'registered':
      return `${o.model} v${o.version} ${o.promoted ? 'promoted' : 'not promoted'} (champion ${o.champion === null ? 'none' : `v${o.champion}`})`;
    case 'skipped':
      return `skipped: ${o.reason}`;
    case 'failed':
      return `failed: ${o.error.split('\n')[0]}`;
  }
}

/** A Markdown table, as the CLI prints its other tables. */
function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

function listTable(summaries: ScheduleSummary[]): string {
  const rows = summaries.map(({ schedule: s, last, next }) => [
    s.name,
    s.paused ? 'paused' : 'active',
    describeTiming(s.timing),
    s.overlap,
    s.model,
    s.paused ? '—' : (next?.toISOString() ?? '?'),
    last ? `${last.stamp}: ${describeOutcome(last)}` : '—',
  ]);
  return table(['schedule', 'state', 'timing', 'overlap', 'model', 'next firing', 'last firing'], rows);
}

const listCommand: CommandModule<object, TargetArgs & { json: boolean }> = {
  command: 'list',
  describe: 'the schedules: state, timing, overlap policy, model, next and last firing',
  builder: (y) =>
    withTarget(y as Argv<object>).option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' }) as unknown as Argv<TargetArgs & { json: boolean }>,
  handler: async (args) => {
    await onTarget(args, { store: DEFAULT_STORE_URL, prefix: DEFAULT_REDIS_PREFIX }, async (store, redis, prefix) => {
      const summaries = await describeSchedules(store, redis ? { connection: redis.connection, prefix } : undefined);
      if (args.json) {
        const plain = summaries.map(({ schedule, last, next }) => ({ ...schedule, lastFiring: last ?? null, nextFiring: next?.toISOString() ?? null }));
        print(JSON.stringify(plain, null, 2));
      } else if (summaries.length === 0) {
        print(`no schedules in ${store.url} (pmamba schedule add NAME -c CONFIG --every 6h adds one)`);
      } else {
        print(listTable(summaries));
      }
    });
  },
};

type NameArgs = TargetArgs & { name: string };

function nameCommand(verb: 'pause' | 'resume' | 'remove', describe: string, act: (store: ArtifactStore, target: { connection: RedisService['connection']; prefix: string } | undefined, name: string) => Promise<unknown>, done: string): CommandModule<object, NameArgs> {
  return {
    command: `${verb} <name>`,
    describe,
    builder: (y) => withTarget(y as Argv<object>).positional('name', { type: 'string', demandOption: true, describe: 'schedule name' }) as unknown as Argv<NameArgs>,
    handler: async (args) => {
      await onTarget(args, { store: DEFAULT_STORE_URL, prefix: DEFAULT_REDIS_PREFIX }, async (store, redis, prefix) => {
        await act(store, redis ? { connection: redis.connection, prefix } : undefined, args.name);
        print(`schedule ${args.name} ${done}`);
        log(where(redis, prefix));
      });
    },
  };
}

const pauseCommand = nameCommand('pause', 'stop a schedule firing (kept in the store; a run in progress goes on)', (s, t, n) => setSchedulePaused(s, t, n, true), 'paused');
const resumeCommand = nameCommand('resume', 'let a paused schedule fire again', (s, t, n) => setSchedulePaused(s, t, n, false), 'resumed');
const removeCommand = nameCommand('remove', 'delete a schedule (its firing records, runs and model versions stay)', (s, t, n) => removeSchedule(s, t, n), 'removed');

/** `pmamba schedule …`: scheduled retraining. */
export const scheduleCommand: CommandModule = {
  command: 'schedule',
  describe: 'scheduled retraining: add, list, pause, resume, remove (run by `pmamba scheduler`)',
  builder: (y) =>
    y
      .command(addCommand)
      .command(listCommand)
      .command(pauseCommand)
      .command(resumeCommand)
      .command(removeCommand)
      .demandCommand(1, 'name a schedule command: add, list, pause, resume or remove'),
  handler: () => undefined,
};
