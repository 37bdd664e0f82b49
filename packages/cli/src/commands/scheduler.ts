/**
 * `pmamba scheduler [--store URL] [--redis URL] [--prefix P] [--local-workers N]`: the process
 * that runs the schedules (one per deployment). It puts the store's schedules into BullMQ job
 * schedulers, and at each firing plans a run from the schedule's config, trains and evaluates it
 * on the workers of the same Redis and store (`pmamba worker`s, or N started here), registers it
 * and records the firing. SIGTERM or Ctrl-C stops it; unfinished firings resume at its next start.
 */
import type { Argv, CommandModule } from 'yargs';
import { Scheduler, type SchedulerEvent } from '@pmamba/coordinator';
import { BACKENDS, type BackendChoice } from '@pmamba/model/spec';
import { DEFAULT_REDIS_PREFIX, DEFAULT_STORE_URL, type ScheduleFiring } from '@pmamba/protocol';
import { openStore } from '@pmamba/store';
import { startServices } from '../services.ts';
import { shellPrefix } from '../redis.ts';
import { RepeatLimiter } from '../repeat-limiter.ts';
import { teacherWeightsFile } from '../teacher-file.ts';
import { absoluteStoreUrl } from '../train-run.ts';

interface SchedulerArgs {
  store: string;
  redis?: string;
  prefix: string;
  localWorkers: number;
  backend: BackendChoice;
  resync: number;
}

const percent = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(1)}%`);

function describeFiring(f: ScheduleFiring, resumed: boolean): string {
  const o = f.outcome;
  const head = `${f.schedule}: firing ${f.stamp}`;
  switch (o.status) {
    case 'queued':
      return `${head} queued behind run ${o.behind}`;
    case 'running':
      return `${head}: ${resumed ? 'resuming' : 'started'} run ${f.runId}`;
    case 'registered':
      return `${head}: run ${f.runId} (mAD ${percent(o.mad)}) registered as ${o.model} v${o.version}, ${o.promoted ? 'promoted' : 'not promoted'}: ${o.reason}`;
    case 'skipped':
      return `${head} skipped: ${o.reason}`;
    case 'failed':
      return `${head}: run ${f.runId} failed${o.code ? ` [${o.code}]` : ''}: ${o.error}`;
  }
}

function describe(e: SchedulerEvent, hint: string): string | undefined {
  switch (e.type) {
    case 'synced': {
      const changes = [e.upserted.length ? `scheduled in Redis: ${e.upserted.join(', ')}` : '', e.removed.length ? `removed from Redis: ${e.removed.join(', ')}` : ''].filter(Boolean);
      return `${e.schedules} schedule(s) in the store, ${e.active} active${changes.length ? `; ${changes.join('; ')}` : ''}`;
    }
    case 'firing':
      return describeFiring(e.firing, e.resumed);
    case 'warning':
      return `warning: ${e.message}`;
    case 'run': {
      const r = e.event;
      if (r.type === 'round-finished' && !r.fromStore) return `${e.runId}: ${r.model} round ${r.round + 1}/${r.rounds} done, loss ${r.loss.toFixed(4)}`;
      if (r.type === 'evaluation-finished') return `${e.runId}: evaluated ${r.atRound === 0 ? 'the untrained model' : `after round ${r.atRound}`}: mean mAD ${percent(r.result.table.mean.mad)}`;
      if (r.type === 'no-workers') return `${e.runId}: no worker has taken ${r.queue} jobs for ${r.seconds} s; start workers: ${hint}`;
      if (r.type === 'warning') return `${e.runId}: warning: ${r.message}`;
      return undefined;
    }
  }
}

export const schedulerCommand: CommandModule<object, SchedulerArgs> = {
  command: 'scheduler',
  describe: 'run the schedules (one per deployment): train, evaluate and register at each firing, until SIGTERM',
  builder: (y) =>
    (y as Argv<object>)
      .option('store', { type: 'string', default: DEFAULT_STORE_URL, describe: 'artifact store of the schedules and runs: file://DIR or s3://BUCKET/PREFIX' })
      .option('redis', { type: 'string', describe: 'Redis URL: redis[s]://HOST:PORT, or redis[s]+cluster://HOST:PORT,HOST:PORT for a cluster (default: REDIS_URL; with --local-workers and none, a private redis-server)' })
      .option('prefix', { type: 'string', default: DEFAULT_REDIS_PREFIX, describe: 'BullMQ key prefix, shared with the workers' })
      .option('local-workers', { type: 'number', default: 0, describe: 'worker processes to start here (0: `pmamba worker`s elsewhere serve the runs)' })
      .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice, describe: 'compute backend of local workers' })
      .option('resync', { type: 'number', default: 60, describe: 'seconds between re-reads of the schedules from the store (changes made without Redis, a Redis that lost them)' }) as unknown as Argv<SchedulerArgs>,
  handler: async (args) => {
    const log = (line: string) => process.stderr.write(`pmamba scheduler: ${line}\n`);
    const storeUrl = absoluteStoreUrl(args.store);
    const store = await openStore(storeUrl);
    const services = await startServices({
      redisUrls: [args.redis, process.env.REDIS_URL],
      allowPrivate: args.localWorkers > 0,
      prefix: args.prefix,
      storeUrl,
      localWorkers: args.localWorkers,
      defaultWorkers: 0,
      backend: args.backend,
      log: (line) => log(line.replace(/^pmamba: /, '')),
    });
    const redis = services.redis;
    if (redis.private) log(`the private redis-server is reachable only from here: \`pmamba schedule\` changes reach this scheduler through the store, within --resync seconds`);
    const hint = `pmamba worker --redis ${redis.shownUrl} --prefix ${shellPrefix(args.prefix)} --store ${storeUrl}`;
    // Connection errors repeat on every reconnect: one line per kind and 30 s.
    const warnings = new RepeatLimiter(log);
    const scheduler = new Scheduler({
      connection: redis.connection,
      prefix: args.prefix,
      store,
      resyncMs: Math.max(1, args.resync) * 1000,
      teacherWeightsFile: (config) => teacherWeightsFile(config),
      onEvent: (e) => {
        const line = describe(e, hint);
        if (line === undefined) return;
        // Kind: the line without its numbers, so repeats of one failure count together.
        if (e.type === 'warning') warnings.log(line.replace(/\d+/g, '#').slice(0, 80), line);
        else log(line);
      },
    });
    let stopping = false;
    const stopped = new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(130);
        stopping = true;
        log(`${signal}: stopping (runs in progress resume at the next start); again to quit at once`);
        resolve();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    try {
      await scheduler.start();
      log(`running on ${storeUrl}, Redis ${redis.shownUrl} (prefix ${args.prefix})`);
      await stopped;
    } finally {
      await scheduler.close();
      await services.stop();
      await store.close();
      log('stopped');
    }
  },
};
