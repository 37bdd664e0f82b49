/**
 * `pmamba worker [--concurrency N] [--backend …] [--gpus 0,1]`: serves teacher-pretrain, train-shard, fit-map and evaluate
 * jobs from the coordinator's Redis and store. SIGTERM or Ctrl-C shuts down gracefully (training
 * jobs checkpoint and go back to the queue, evaluations finish); a second one stops at once.
 * Its lines go through pino (JSON lines off a terminal, with run, round, job and worker ids);
 * `--metrics-port N` serves Prometheus /metrics and /healthz (docs/observability.md).
 */
import type { Argv, CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '@pmamba/model/spec';
import { DEFAULT_REDIS_PREFIX, DEFAULT_STORE_URL } from '@pmamba/protocol';
import { PROCESSORS, startWorker, startWorkerMetrics, type MetricsServer, type WorkerEvent, type WorkerQueue } from '@pmamba/worker';
import { CliError } from '../errors.ts';
import { LOG_FORMATS, createLogger, knownSecrets, logFormat, type LogFormat } from '../log.ts';
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
  metricsPort: number;
  metricsHost: string;
  logFormat?: LogFormat;
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

/** The ids a log line carries: the job's BullMQ id says its run and round (coordinator/src/job-ids.ts). */
function fields(e: WorkerEvent): Record<string, unknown> {
  const id = e.type === 'stalled' ? e.jobId : e.type === 'error' ? undefined : e.job?.id;
  const data = (e.type === 'active' || e.type === 'completed' || e.type === 'failed' ? e.job?.data : undefined) as { runId?: unknown } | undefined;
  const ids = id ? /^(.+?)\.(r|e)(\d+)\./.exec(id) : null;
  return {
    event: e.type,
    queue: e.queue,
    slot: e.slot,
    ...(id ? { job: id } : {}),
    ...(typeof data?.runId === 'string' ? { run: data.runId } : ids ? { run: ids[1] } : {}),
    ...(ids ? { [ids[2] === 'r' ? 'round' : 'evalRound']: Number(ids[3]) } : {}),
    ...(e.type === 'active' && e.job.attemptsMade > 0 ? { attempt: e.job.attemptsMade + 1 } : {}),
    ...(e.type === 'completed' ? { ms: Math.round(e.ms) } : {}),
    ...(e.type === 'failed' ? { willRetry: e.willRetry, err: e.error.message } : {}),
    ...(e.type === 'error' ? { err: e.error.message, code: (e.error as NodeJS.ErrnoException).code } : {}),
  };
}

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker',
  describe: 'serve teacher-pretrain, train-shard, fit-map and evaluate jobs (sandboxed processes) until SIGTERM',
  builder: (y) =>
    (y as Argv<object>)
      .option('redis', { type: 'string', describe: 'Redis URL: redis[s]://HOST:PORT, or redis[s]+cluster://HOST:PORT,HOST:PORT for a cluster (default: REDIS_URL)' })
      .option('store', { type: 'string', default: DEFAULT_STORE_URL, describe: 'artifact store of the runs: file://DIR or s3://BUCKET/PREFIX' })
      .option('prefix', { type: 'string', default: DEFAULT_REDIS_PREFIX, describe: 'BullMQ key prefix (the coordinator\'s redis.prefix)' })
      .option('concurrency', { type: 'number', default: 1, describe: 'jobs at once per queue, each in its own process (without --gpus)' })
      .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice, describe: 'compute backend' })
      .option('gpus', { type: 'string', describe: 'CUDA devices, e.g. 0,1: one job per GPU, each process sees only its own' })
      .option('queues', { type: 'string', describe: `queues to serve (default: ${Object.keys(PROCESSORS).join(',')})` })
      .option('name', { type: 'string', describe: 'worker name shown on its jobs' })
      .option('lock-duration', { type: 'number', default: 60_000, describe: 'ms a job lock lasts unrenewed: a dead worker\'s job moves on after this' })
      .option('stalled-interval', { type: 'number', default: 30_000, describe: 'ms between checks for jobs whose worker died' })
      .option('quiet', { type: 'boolean', default: false, describe: 'log failures only' })
      .option('metrics-port', { type: 'number', default: 0, describe: 'serve Prometheus /metrics and /healthz on this port (0: off)' })
      .option('metrics-host', { type: 'string', default: '0.0.0.0', describe: 'interface of the metrics server' })
      .option('log-format', { choices: LOG_FORMATS, describe: 'json lines or plain lines (default: PMAMBA_LOG_FORMAT, else json unless stderr is a terminal)' }) as unknown as Argv<WorkerArgs>,
  handler: async (args) => {
    const queues = args.queues?.split(',').map((q) => q.trim()) as WorkerQueue[] | undefined;
    const unknown = queues?.filter((q) => !(q in PROCESSORS));
    if (unknown?.length) throw new CliError(`--queues: unknown queue ${unknown.join(', ')}; choose from ${Object.keys(PROCESSORS).join(', ')}`, 'E_BAD_OPTION');
    if (!Number.isInteger(args.metricsPort) || args.metricsPort < 0 || args.metricsPort > 65535) {
      throw new CliError(`--metrics-port ${args.metricsPort}: expected a port number (0: no metrics server)`, 'E_BAD_OPTION');
    }
    // The worker package's default name, decided here so every line can carry it.
    const name = args.name ?? `pmamba-${process.env.HOSTNAME ?? 'host'}-${process.pid}`;
    const format = logFormat(args.logFormat);
    // Sandboxed processors inherit it, and print their own lines in the same format.
    process.env.PMAMBA_LOG_FORMAT = format;
    const logger = await createLogger({
      name: 'pmamba worker',
      format,
      secrets: knownSecrets(process.env, [args.redis, process.env.REDIS_URL]),
      base: { worker: name },
    });
    const redis = await resolveRedis([args.redis, process.env.REDIS_URL], { allowPrivate: false, prefix: args.prefix });
    const storeUrl = absoluteStoreUrl(args.store);
    const log = (line: string, extra: Record<string, unknown> = {}) => logger.info(extra, line);
    // Connection errors repeat on every reconnect of every queue: one line per kind and 30 s.
    let errorFields: Record<string, unknown> = {};
    const errors = new RepeatLimiter((line) => logger.error(errorFields, line));
    const handle = await startWorker({
      connection: redis.connection,
      prefix: args.prefix,
      storeUrl,
      backend: args.backend,
      concurrency: args.concurrency,
      gpus: args.gpus?.split(',').map((g) => g.trim()).filter(Boolean),
      queues,
      name,
      lockDurationMs: args.lockDuration,
      stalledIntervalMs: args.stalledInterval,
      onEvent: (e) => {
        if (args.quiet && e.type !== 'failed' && e.type !== 'error') return;
        const line = describe(e);
        if (!line) return;
        if (e.type === 'error') {
          errorFields = fields(e);
          errors.log(`${e.queue}:${(e.error as NodeJS.ErrnoException).code ?? e.error.message}`, line);
        } else if (e.type === 'failed') logger.error(fields(e), line);
        else if (e.type === 'stalled') logger.warn(fields(e), line);
        else log(line, fields(e));
      },
    });
    const served = queues ?? Object.keys(PROCESSORS);
    log(`serving ${served.join(', ')} on ${redis.shownUrl} (prefix ${args.prefix}), store ${storeUrl}`, { event: 'started', queues: served, redis: redis.shownUrl, prefix: args.prefix, store: storeUrl });
    let metrics: MetricsServer | undefined;
    if (args.metricsPort > 0) {
      try {
        metrics = await startWorkerMetrics(handle, { connection: redis.connection, prefix: args.prefix, port: args.metricsPort, host: args.metricsHost });
      } catch (err) {
        await handle.kill();
        throw new CliError(`--metrics-port ${args.metricsPort}: cannot serve metrics on ${args.metricsHost} (${(err as Error).message})`, 'E_BAD_OPTION');
      }
      log(`metrics on ${metrics.url}/metrics, health on ${metrics.url}/healthz`, { event: 'metrics', url: metrics.url });
    }
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
    await metrics?.close();
    await redis.stop();
    log('stopped', { event: 'stopped' });
  },
};
