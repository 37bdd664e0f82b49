/**
 * `pmamba worker [--concurrency N] [--backend …] [--gpus 0,1]`: serves teacher-pretrain, train-shard and evaluate
 * jobs from the coordinator's Redis and store. SIGTERM or Ctrl-C shuts down gracefully (training
 * jobs checkpoint and go back to the queue, evaluations finish); a second one stops at once.
 */
import type { Argv, CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '@pmamba/model/spec';
import { DEFAULT_REDIS_PREFIX, DEFAULT_STORE_URL } from '@pmamba/protocol';
import { PROCESSORS, startWorker, type WorkerEvent, type WorkerQueue } from '@pmamba/worker';
import { CliError } from '../errors.ts';
import { resolveRedis } from '../redis.ts';
import { RepeatLimiter } from '../repeat-limiter.ts';
import { absoluteStoreUrl } from '../train-run.ts';

interface WorkerArgs {
  redis?: string;
  store: string;
  prefix: string;
  concurrency: number;
  backend: BackendChoice;
  gpus?: string;
  queues?: string;
  name?: string;
  lockDuration: number;
  stalledInterval: number;
  quiet: boolean;
}

function describe(e: WorkerEvent): string | undefined {
  const where = e.slot.startsWith('gpu') ? `${e.slot}: ` : '';
  switch (e.type) {
    case 'active':
      return `${where}started ${e.queue} job ${e.job.id}${e.job.attemptsMade > 0 ? ` (attempt ${e.job.attemptsMade + 1})` : ''}`;
    case 'completed':
      return `${where}finished ${e.queue} job ${e.job.id} in ${(e.ms / 1000).toFixed(1)} s`;
    case 'failed':
      return `${where}${e.queue} job ${e.job?.id ?? '?'} failed${e.willRetry ? ' (will retry)' : ''}: ${e.error.message}`;
    case 'stalled':
      return `${where}${e.queue} job ${e.jobId} had lost its worker; it is queued again`;
    case 'error':
      return `${where}${e.queue}: ${e.error.message}`;
  }
}

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker',
  describe: 'serve teacher-pretrain, train-shard and evaluate jobs (sandboxed processes) until SIGTERM',
  builder: (y) =>
    (y as Argv<object>)
      .option('redis', { type: 'string', describe: 'Redis URL (default: REDIS_URL)' })
      .option('store', { type: 'string', default: DEFAULT_STORE_URL, describe: 'artifact store of the runs: file://DIR or s3://BUCKET/PREFIX' })
      .option('prefix', { type: 'string', default: DEFAULT_REDIS_PREFIX, describe: 'BullMQ key prefix (the coordinator\'s redis.prefix)' })
      .option('concurrency', { type: 'number', default: 1, describe: 'jobs at once per queue, each in its own process (without --gpus)' })
      .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice, describe: 'compute backend' })
      .option('gpus', { type: 'string', describe: 'CUDA devices, e.g. 0,1: one job per GPU, each process sees only its own' })
      .option('queues', { type: 'string', describe: `queues to serve (default: ${Object.keys(PROCESSORS).join(',')})` })
      .option('name', { type: 'string', describe: 'worker name shown on its jobs' })
      .option('lock-duration', { type: 'number', default: 60_000, describe: 'ms a job lock lasts unrenewed: a dead worker\'s job moves on after this' })
      .option('stalled-interval', { type: 'number', default: 30_000, describe: 'ms between checks for jobs whose worker died' })
      .option('quiet', { type: 'boolean', default: false, describe: 'log failures only' }) as unknown as Argv<WorkerArgs>,
  handler: async (args) => {
    const queues = args.queues?.split(',').map((q) => q.trim()) as WorkerQueue[] | undefined;
    const unknown = queues?.filter((q) => !(q in PROCESSORS));
    if (unknown?.length) throw new CliError(`--queues: unknown queue ${unknown.join(', ')}; choose from ${Object.keys(PROCESSORS).join(', ')}`, 'E_BAD_OPTION');
    const redis = await resolveRedis([args.redis, process.env.REDIS_URL], { allowPrivate: false });
    const storeUrl = absoluteStoreUrl(args.store);
    const log = (line: string) => process.stderr.write(`pmamba worker: ${line}\n`);
    // Connection errors repeat on every reconnect of every queue: one line per kind and 30 s.
    const errors = new RepeatLimiter(log);
    const handle = await startWorker({
      connection: redis.connection,
      prefix: args.prefix,
      storeUrl,
      backend: args.backend,
      concurrency: args.concurrency,
      gpus: args.gpus?.split(',').map((g) => g.trim()).filter(Boolean),
      queues,
      name: args.name,
      lockDurationMs: args.lockDuration,
      stalledIntervalMs: args.stalledInterval,
      onEvent: (e) => {
        if (args.quiet && e.type !== 'failed' && e.type !== 'error') return;
        const line = describe(e);
        if (!line) return;
        if (e.type === 'error') errors.log(`${e.queue}:${(e.error as NodeJS.ErrnoException).code ?? e.error.message}`, line);
        else log(line);
      },
    });
    log(`serving ${(queues ?? Object.keys(PROCESSORS)).join(', ')} on ${redis.shownUrl} (prefix ${args.prefix}), store ${storeUrl}`);
    await new Promise<void>((done) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          log(`${signal} again: stopping now; running jobs return to the queue when their lock expires`);
          void handle.kill().then(done);
          return;
        }
        stopping = true;
        log(`${signal}: finishing — training jobs checkpoint and go back to the queue, evaluations complete`);
        void handle.shutdown().then(done);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    log('stopped');
  },
};
