/**
 * `pmamba sweep -c CONFIG [--max-parallel N] [--seeds 1,2,3] [--data ROOT] [--report DIR]` runs
 * the config's `sweep:` block — a grid, or a random search — as one run per variant and seed,
 * and prints the ablation table; `pmamba sweep --resume NAME` continues an interrupted sweep.
 */
import type { Argv, CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '@pmamba/model/spec';
import { parseConfigYaml, readConfigFile } from '@pmamba/protocol';
import { CliError } from '../errors.ts';
import { sweepRun } from '../sweep-run.ts';

interface SweepArgs {
  config?: string;
  resume?: string;
  name?: string;
  seeds?: string;
  maxParallel?: number;
  baseline?: number;
  earlyStop?: 'median' | 'off';
  data?: string;
  store?: string;
  redis?: string;
  prefix?: string;
  report?: string;
  localWorkers?: number;
  backend: BackendChoice;
}

function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((s) => s.trim());
  if (seeds.some((s) => !/^\d+$/.test(s))) throw new CliError(`--seeds ${text}: expected non-negative integers separated by commas, e.g. 1,2,3`, 'E_BAD_OPTION');
  return seeds.map(Number);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep',
  describe: "run a config's sweep block (grid or random search): one run per variant and seed, then the ablation table (or --resume a sweep)",
  builder: (y) =>
    (y as Argv<object>)
      .option('config', { alias: 'c', type: 'string', describe: 'run config (YAML) with a sweep block, e.g. configs/ablation-pyramid-levels.yaml' })
      .option('resume', { type: 'string', describe: 'continue this sweep from what the store holds (no --config needed)' })
      .option('name', { type: 'string', describe: "the sweep's name (default: sweep.name, else run.id, else sweep-<time>)" })
      .option('seeds', { type: 'string', describe: 'training seeds each variant runs with, e.g. 1,2,3 (default: sweep.seeds, else training.seed)' })
      .option('max-parallel', { type: 'number', describe: 'at most this many runs in flight (default: sweep.maxParallel, else 1)' })
      .option('baseline', { type: 'number', describe: 'the variant the Δ columns compare with (default: sweep.baseline, else 0)' })
      .option('early-stop', { choices: ['median', 'off'] as const, describe: 'stop runs below the median of their peers at an evaluated round (default: sweep.earlyStopping)' })
      .option('data', { type: 'string', describe: 'dataset root, overriding dataset.root' })
      .option('store', { type: 'string', describe: "artifact store: file://DIR or s3://BUCKET/PREFIX (default: the config's, else file://./artifacts)" })
      .option('redis', { type: 'string', describe: "Redis URL (default: REDIS_URL, the config's, else a private redis-server)" })
      .option('prefix', { type: 'string', describe: "BullMQ key prefix (default: the config's redis.prefix)" })
      .option('report', { type: 'string', describe: 'also write ablation.{md,csv,json,html} to this folder' })
      .option('local-workers', { type: 'number', describe: 'worker processes to start here (default: training.workers with a private Redis, else 0)' })
      .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice, describe: 'compute backend of local workers' })
      .check((a) => {
        if (!a.config === !a.resume) throw new CliError('give either --config FILE (a new sweep) or --resume NAME', 'E_BAD_OPTION');
        if (a.resume && (a.data || a.name || a.seeds || a.maxParallel !== undefined || a.baseline !== undefined || a.earlyStop)) {
          throw new CliError('--data, --name, --seeds, --max-parallel, --baseline and --early-stop shape a new sweep; a resumed sweep keeps its own', 'E_BAD_OPTION');
        }
        if (a.maxParallel !== undefined && !(Number.isInteger(a.maxParallel) && (a.maxParallel as number) >= 1)) throw new CliError(`--max-parallel ${a.maxParallel}: expected a positive integer`, 'E_BAD_OPTION');
        return true;
      }) as unknown as Argv<SweepArgs>,
  handler: async (args) => {
    let source: { name: string; value: Record<string, unknown>; lineOf: (path: string) => number | undefined } | undefined;
    if (args.config) {
      const read = parseConfigYaml(await readConfigFile(args.config), args.config);
      if (!isRecord(read.value)) throw new CliError(`${args.config}: expected a mapping of sections (run, dataset, model, …)`, 'E_BAD_OPTION');
      const value = { ...read.value };
      // Command-line overrides go into the config as written, so the sweep keeps them on resume.
      if (args.data) value.dataset = { ...(isRecord(value.dataset) ? value.dataset : {}), root: args.data };
      if (args.store) value.store = { ...(isRecord(value.store) ? value.store : {}), url: args.store };
      source = { name: args.config, value, lineOf: read.lineOf };
    }
    await sweepRun({
      source,
      plan: {
        name: args.name,
        seeds: args.seeds === undefined ? undefined : parseSeeds(args.seeds),
        maxParallel: args.maxParallel,
        baseline: args.baseline,
        earlyStopping: args.earlyStop,
      },
      resume: args.resume,
      storeUrl: args.store,
      redisUrl: args.redis,
      prefix: args.prefix,
      reportDir: args.report,
      localWorkers: args.localWorkers,
      backend: args.backend,
    });
  },
};
