/**
 * `pmamba train -c CONFIG [--data ROOT] [--store URL] [--redis URL] [--report DIR]`: plans a run
 * and drives it to the benchmark table; `pmamba train --resume RUN` continues one whose
 * coordinator stopped. Workers come from `pmamba worker` elsewhere, or `--local-workers N` here
 * (the default when no Redis URL is given: a private redis-server is reachable only from here).
 * `--metrics-port N` serves the run's queue metrics on /metrics and /healthz (metrics-server.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '@pmamba/model/spec';
import { loadRunConfig, parseRunConfig, type RunConfig } from '@pmamba/protocol';
import { CliError } from '../errors.ts';
import { LOG_FORMATS, type LogFormat } from '../log.ts';
import { trainRun } from '../train-run.ts';

interface TrainArgs {
  config?: string;
  resume?: string;
  data?: string;
  store?: string;
  redis?: string;
  prefix?: string;
  report?: string;
  runId?: string;
  localWorkers?: number;
  teacherWeights?: string;
  backend: BackendChoice;
  metricsPort: number;
  metricsHost: string;
  logFormat?: LogFormat;
}

/** The config file with the command line's overrides applied (and validated again). */
export async function configWithOverrides(path: string, o: { data?: string; store?: string; runId?: string; teacherWeights?: string }): Promise<RunConfig> {
  const config = await loadRunConfig(path);
  return parseRunConfig(
    {
      ...config,
      ...(o.teacherWeights ? { model: { ...config.model, teacher: { ...config.model.teacher, weights: o.teacherWeights } } } : {}),
      run: { ...config.run, ...(o.runId ? { id: o.runId } : {}) },
      dataset: { ...config.dataset, ...(o.data ? { root: o.data } : {}) },
      store: { ...config.store, ...(o.store ? { url: o.store } : {}) },
    },
    `${path} (with command-line options)`,
  );
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'train a model on BullMQ workers and print its benchmark table (or --resume a run)',
  builder: (y) =>
    (y as Argv<object>)
      .option('config', { alias: 'c', type: 'string', describe: 'run config (YAML), e.g. configs/quickstart.yaml' })
      .option('resume', { type: 'string', describe: 'continue this run from what the store holds (no --config needed)' })
      .option('data', { type: 'string', describe: 'dataset root (MVTec layout), overriding dataset.root' })
      .option('store', { type: 'string', describe: 'artifact store: file://DIR or s3://BUCKET/PREFIX (default: the config\'s, else file://./artifacts)' })
      .option('redis', { type: 'string', describe: 'Redis URL: redis[s]://HOST:PORT, or redis[s]+cluster://HOST:PORT,HOST:PORT for a cluster (default: REDIS_URL, the config\'s, else a private redis-server)' })
      .option('prefix', { type: 'string', describe: 'BullMQ key prefix (default: the config\'s redis.prefix)' })
      .option('report', { type: 'string', describe: 'also write report.{md,csv,json,html} to this folder (untrained model: DIR/untrained/)' })
      .option('run-id', { type: 'string', describe: 'id of the new run (default: run.id, else run-<time>)' })
      .option('teacher-weights', { type: 'string', describe: 'pretrained teacher: .pth or .safetensors path or URL (overrides model.teacher.weights; see `pmamba weights fetch`)' })
      .option('local-workers', { type: 'number', describe: 'worker processes to start here (default: training.workers with a private Redis, else 0)' })
      .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice, describe: 'compute backend of local workers' })
      .option('metrics-port', { type: 'number', default: 0, describe: 'serve Prometheus /metrics and /healthz of the run\'s queues on this port (0: off; needs --redis or REDIS_URL)' })
      .option('log-format', { choices: LOG_FORMATS, describe: 'json: the coordinator\'s lines as JSON with run, round and job ids (default: PMAMBA_LOG_FORMAT, else plain lines and progress bars)' })
      .option('metrics-host', { type: 'string', default: '0.0.0.0', describe: 'interface of the metrics server' })
      .check((a) => {
        if (!a.config === !a.resume) throw new CliError('give either --config FILE (a new run) or --resume RUN', 'E_BAD_OPTION');
        return true;
      }) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const config = args.config ? await configWithOverrides(args.config, { data: args.data, store: args.store, runId: args.runId, teacherWeights: args.teacherWeights }) : undefined;
    if (args.resume && (args.data || args.runId || args.teacherWeights)) {
      throw new CliError('--data, --run-id and --teacher-weights apply to new runs; a resumed run keeps its own', 'E_BAD_OPTION');
    }
    if (!Number.isInteger(args.metricsPort) || args.metricsPort < 0 || args.metricsPort > 65535) {
      throw new CliError(`--metrics-port ${args.metricsPort}: expected a port number (0: no metrics server)`, 'E_BAD_OPTION');
    }
    // prom-client and the server load only when asked for.
    const metrics =
      args.metricsPort > 0
        ? await (await import('../metrics-server.ts')).startTrainMetrics({
            port: args.metricsPort,
            host: args.metricsHost,
            config,
            resume: args.resume,
            redisUrl: args.redis,
            prefix: args.prefix,
            storeUrl: args.store,
          })
        : undefined;
    if (metrics) process.stderr.write(`pmamba: metrics on ${metrics.url}/metrics, health on ${metrics.url}/healthz\n`);
    try {
      await trainRun({
        config,
        resume: args.resume,
        storeUrl: args.store,
        redisUrl: args.redis,
        prefix: args.prefix,
        runId: args.runId,
        reportDir: args.report,
        localWorkers: args.localWorkers,
        backend: args.backend,
        // People run train: plain lines unless JSON is asked for (a cluster's coordinator Job sets PMAMBA_LOG_FORMAT=json).
        logFormat: (args.logFormat ?? process.env.PMAMBA_LOG_FORMAT) === 'json' ? 'json' : undefined,
      });
    } finally {
      await metrics?.close();
    }
  },
};
