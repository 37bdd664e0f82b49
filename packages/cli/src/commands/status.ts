/**
 * `pmamba status RUN [--store URL] [--redis URL] [--prefix P] [--json]`: where a run stands —
 * rounds done (round manifests in the store), its jobs in Redis by state, and the newest
 * metrics (the run manifest's table, else the newest evaluation report). Without a Redis URL
 * (option, REDIS_URL or the run's config) the jobs are left out; an unreachable one is reported
 * and the store's part still printed.
 */
import type { Argv, CommandModule } from 'yargs';
import { loadRun } from '@pmamba/coordinator';
import { DEFAULT_REDIS_PREFIX, DEFAULT_STORE_URL, checkClusterPrefix, isClusterUrl, parseRedisUrl } from '@pmamba/protocol';
import { openStore } from '@pmamba/store';
import { pingRedis, shownRedisUrl } from '../redis.ts';
import { runState, statusText } from '../status/format.ts';
import { readRunJobs, type RunJobs } from '../status/run-jobs.ts';
import { readRunProgress } from '../status/run-progress.ts';
import { absoluteStoreUrl } from '../train-run.ts';

interface StatusArgs {
  run: string;
  store: string;
  redis?: string;
  prefix?: string;
  json: boolean;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status <run>',
  describe: 'where a run stands: rounds done, its jobs in Redis, the newest metrics',
  builder: (y) =>
    (y as Argv<object>)
      .positional('run', { type: 'string', demandOption: true, describe: 'run id' })
      .option('store', { type: 'string', default: DEFAULT_STORE_URL, describe: 'artifact store: file://DIR or s3://BUCKET/PREFIX' })
      .option('redis', { type: 'string', describe: 'Redis URL: redis[s]://HOST:PORT, or redis[s]+cluster://HOST:PORT,HOST:PORT for a cluster (default: REDIS_URL, else the run config\'s; none: jobs are not shown)' })
      .option('prefix', { type: 'string', describe: 'BullMQ key prefix (default: the run config\'s redis.prefix)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<StatusArgs>,
  handler: async (args) => {
    const store = await openStore(absoluteStoreUrl(args.store));
    try {
      const record = await loadRun(store, args.run);
      const progress = await readRunProgress(store, record);
      const url = [args.redis, process.env.REDIS_URL, record.config.redis.url].find((u) => u !== undefined && u !== '');
      const prefix = args.prefix ?? record.config.redis.prefix ?? DEFAULT_REDIS_PREFIX;
      let jobs: RunJobs | null = null;
      let jobsNote: string | undefined;
      if (url === undefined) jobsNote = 'not checked (no Redis URL: give --redis or set REDIS_URL)';
      else {
        try {
          const parsed = parseRedisUrl(url);
          if (isClusterUrl(parsed)) checkClusterPrefix(prefix);
          await pingRedis(url);
          jobs = await readRunJobs(parsed, prefix, record);
        } catch (err) {
          // pingRedis' message shows the URL masked; the store's part is still worth printing.
          jobsNote = `not checked: ${(err as Error).message.replace(url, shownRedisUrl(url))}`;
        }
      }
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ ...progress, state: runState(progress, jobs), jobs, ...(jobsNote ? { jobsNote } : {}) }, null, 2)}\n`);
      } else {
        process.stdout.write(statusText(progress, jobs, jobsNote, record.config.evaluation.metrics));
      }
    } finally {
      await store.close();
    }
  },
};
