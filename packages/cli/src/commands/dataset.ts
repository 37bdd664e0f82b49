import type { Argv, CommandModule } from 'yargs';
import cliProgress from 'cli-progress';
import { formatInspect, inspectDataset, openDataset, synthesize } from '@pmamba/data';
import type { DataWarning, DatasetFormat } from '@pmamba/data';

const FORMATS = ['auto', 'mvtec', 'visa', 'mvtec-ad2', 'btad', 'folder'] as const;

interface InspectArgs {
  root: string;
  format: DatasetFormat | 'auto';
  json: boolean;
  verify: boolean;
  policy: 'fail' | 'skip';
  normalDir?: string;
  abnormalDir?: string[];
  maskDir?: string;
}

/** `pmamba dataset inspect ROOT`: counts, sizes and problems of a dataset folder. */
const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <root>',
  describe: 'summarise a dataset folder: classes, counts, defect types, masks, image sizes, problems',
  builder: (y) =>
    (y as Argv<object>)
      .positional('root', { type: 'string', demandOption: true, describe: 'dataset root folder' })
      .option('format', { choices: FORMATS, default: 'auto' as const, describe: 'dataset layout (auto detects it)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
      .option('verify', { type: 'boolean', default: false, describe: 'decode every image and mask (finds truncated files and all-black defect masks; reads the whole dataset)' })
      .option('policy', {
        choices: ['fail', 'skip'] as const,
        default: 'skip' as const,
        describe: "problems: 'skip' lists them as warnings (exit 0); 'fail' lists them and exits 1 (a bad folder layout stops reading at once)",
      })
      .option('normal-dir', { type: 'string', describe: "folder format: normal images folder (default 'good')" })
      .option('abnormal-dir', { type: 'string', array: true, describe: 'folder format: anomalous image folders (default: the other folders)' })
      .option('mask-dir', { type: 'string', describe: "folder format: masks folder (default 'masks' if present)" }) as unknown as Argv<InspectArgs>,
  handler: async (args) => {
    const quiet: DataWarning[] = [];
    const index = await openDataset(args.root, {
      format: args.format,
      policy: args.policy,
      // Problems are printed with the report, not as they are found.
      onWarning: (w) => quiet.push(w),
      ...(args.normalDir ? { normalDir: args.normalDir } : {}),
      ...(args.abnormalDir ? { abnormalDirs: args.abnormalDir } : {}),
      ...(args.maskDir ? { maskDir: args.maskDir } : {}),
    });
    const report = await inspectDataset(index, { verify: args.verify });
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : formatInspect(report) + '\n');
    if (args.policy === 'fail' && report.problems.length > 0) failOnProblems(report.problems, args.json);
  },
};

/**
 * `--policy fail`: every problem fails the command, warnings included (mixed grey/colour,
 * empty masks, one-sided test sets): it is the strict gate for CI. The full report is printed
 * first, so one run lists everything to fix; under `skip` the same problems leave exit code 0.
 */
function failOnProblems(problems: readonly DataWarning[], json: boolean): void {
  const counts = new Map<string, number>();
  for (const p of problems) counts.set(p.code, (counts.get(p.code) ?? 0) + 1);
  const codes = [...counts].map(([code, n]) => `${code} ×${n}`).join(', ');
  const where = json ? 'in the JSON report' : 'above';
  process.stderr.write(`pmamba: dataset inspect found ${problems.length} problem(s) under --policy fail (${codes}; listed ${where})\n`);
  process.exitCode = 1;
}

interface SynthArgs {
  out: string;
  classes: number;
  size: number;
  train: number;
  test: number;
  seed: number;
}

/** `pmamba dataset synth`: writes the deterministic synthetic MVTec-layout data set. */
const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'write a synthetic MVTec-layout data set (textures and objects with small defects and exact masks)',
  builder: (y) =>
    (y as Argv<object>)
      .option('out', { type: 'string', demandOption: true, describe: 'output folder (new, empty, or an earlier synthetic set to replace)' })
      .option('classes', { type: 'number', default: 3, describe: 'number of classes (1-8)' })
      .option('size', { type: 'number', default: 128, describe: 'image side in pixels' })
      .option('train', { type: 'number', default: 40, describe: 'normal training images per class' })
      .option('test', { type: 'number', default: 20, describe: 'test images per class (half normal, half defective)' })
      .option('seed', { type: 'number', default: 0, describe: 'random seed (same arguments, same bytes)' }) as unknown as Argv<SynthArgs>,
  handler: async (args) => {
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar({ format: 'synth [{bar}] {value}/{total} images', stream: process.stderr }, cliProgress.Presets.shades_classic)
      : undefined;
    const started = performance.now();
    let barStarted = false;
    const result = await synthesize({
      out: args.out,
      classes: args.classes,
      size: args.size,
      train: args.train,
      test: args.test,
      seed: args.seed,
      onProgress: (done, total) => {
        if (!bar) return;
        if (!barStarted) {
          bar.start(total, 0);
          barStarted = true;
        }
        bar.update(done);
      },
    });
    bar?.stop();
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `wrote ${result.images} images and ${result.masks} masks of ${result.classes.length} classes (${result.classes.join(', ')}) ` +
        `at ${args.size}² to ${result.root} in ${seconds.toFixed(1)} s\n`,
    );
  },
};

/** `pmamba dataset …`: dataset inspection and the synthetic data set. */
export const datasetCommand: CommandModule = {
  command: 'dataset',
  describe: 'inspect datasets and generate the synthetic one',
  builder: (y) => y.command(inspectCommand).command(synthCommand).demandCommand(1, 'name a dataset command: inspect or synth'),
  handler: () => undefined,
};
