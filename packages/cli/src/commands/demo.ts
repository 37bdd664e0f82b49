/**
 * `pmamba demo` (`npm run demo`): the quickstart end to end on this machine — the synthetic data
 * set, a local store, a coordinator plus two worker processes on a private (or the given)
 * Redis, a few rounds of the small model, and the evaluation of the untrained and the trained
 * model, with progress bars, the benchmark tables and an HTML report.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '@pmamba/model/spec';
import { runIdStamp } from '@pmamba/protocol';
import { trainRun } from '../train-run.ts';
import { configWithOverrides } from './train.ts';

interface DemoArgs {
  config?: string;
  workers: number;
  redis?: string;
  store?: string;
  report: string;
  backend: BackendChoice;
}

/** configs/quickstart.yaml of this checkout, wherever the command runs from. */
const QUICKSTART = fileURLToPath(new URL('../../../../configs/quickstart.yaml', import.meta.url));

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'train and evaluate the quickstart model with a coordinator and two worker processes',
  builder: (y) =>
    (y as Argv<object>)
      .option('config', { alias: 'c', type: 'string', describe: 'run config (default: configs/quickstart.yaml)' })
      .option('workers', { type: 'number', default: 2, describe: 'worker processes to start' })
      .option('redis', { type: 'string', describe: 'Redis URL: redis[s]://HOST:PORT, or redis[s]+cluster://HOST:PORT,HOST:PORT for a cluster (default: REDIS_URL, else a private redis-server)' })
      .option('store', { type: 'string', describe: "artifact store (default: the config's)" })
      .option('report', { type: 'string', default: '.pmamba/demo-report', describe: 'folder for report.{md,csv,json,html}' })
      .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice }) as unknown as Argv<DemoArgs>,
  handler: async (args) => {
    const path = args.config ?? (existsSync('configs/quickstart.yaml') ? 'configs/quickstart.yaml' : QUICKSTART);
    const config = await configWithOverrides(path, { store: args.store });
    const started = Date.now();
    // A fresh run each time: the demo never resumes or overwrites an earlier one.
    const runId = `${config.run.id ?? 'demo'}-${runIdStamp(new Date())}`;
    await trainRun({
      config,
      runId,
      redisUrl: args.redis,
      reportDir: args.report,
      localWorkers: args.workers,
      backend: args.backend,
    });
    process.stdout.write(`demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  },
};
