/**
 * Does the detector detect? The quickstart recipe (configs/quickstart.yaml: 2 worker processes,
 * private Redis, a fresh store so the teacher is made, not reused) trained and evaluated on
 *   - the synthetic quickstart classes (our own generator: the recipe was tuned here), and
 *   - real photographs of textures that ship in Debian (bench/real-textures' main set: the
 *     Gaussian teacher stem was chosen on it), and
 *   - its held-out set (`holdout`: other photos and materials, never looked at while choosing),
 * against the patch-kNN detector on hand-made Gaussian-derivative features (bench/baselines),
 * at the same resolution. pmamba runs the recipe as it is (random teacher with a Gaussian-derivative
 * stem, BatchNorm calibrated)
 * and with the teacher it makes itself (`init: self-supervised`, --pretrain-steps). Prints one
 * table, the gap to kNN, and the wall time of each run (teacher pretraining included).
 *
 *   npm run bench -- quality                       # the three data sets, all three detectors
 *   npx tsx bench/quality.bench.ts --only real,holdout --detectors knn,pmamba
 *
 * The real sets need `apt-get install -y --no-install-recommends ufoai-textures mypaint-data-extras`;
 * without it that part is skipped with the command to run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { synthesize } from '@pmamba/data';
import { loadRunConfig, parseRunConfig, type ReportTable } from '@pmamba/protocol';
import { trainRun } from '@pmamba/cli';
import { evaluatePatchKnn } from './baselines/patch-knn.ts';
import { buildRealTextures } from './real-textures/build.ts';
import { aptCommand, TEXTURE_SOURCES } from './real-textures/sources.ts';
import { machineLine } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'synthetic,real,holdout' },
    detectors: { type: 'string', default: 'knn,pmamba,pmamba-self' },
    'pretrain-steps': { type: 'string', default: '150' },
    config: { type: 'string', default: 'configs/quickstart.yaml' },
    work: { type: 'string', default: '.pmamba/bench-quality' },
    torch: { type: 'boolean', default: false },
  },
});
const datasets = args.only!.split(',');
const detectors = args.detectors!.split(',');
const work = resolve(args.work!);
const recipe = await loadRunConfig(args.config!);
const size = recipe.dataset.imageSize;

interface Row {
  dataset: string;
  detector: string;
  classes: Record<string, { i_auroc: number | null; p_auroc: number | null }>;
  mean: { i_auroc: number | null; p_auroc: number | null; au_pro: number | null; mad: number | null };
  seconds: number;
}
const rows: Row[] = [];

async function datasetRoot(name: string): Promise<string | undefined> {
  const root = join(work, `${name}-${size}`);
  if (existsSync(join(root, name === 'synthetic' ? 'pmamba-synth.json' : 'real-textures.json'))) return root;
  if (name === 'synthetic') {
    const s = recipe.dataset.synthetic!;
    await synthesize({ out: root, classes: s.classes, size: s.size, train: s.train, test: s.test, seed: s.seed });
    return root;
  }
  try {
    await buildRealTextures({ out: root, size, set: name === 'holdout' ? 'holdout' : 'main' });
    return root;
  } catch (err) {
    console.log(`${name} textures skipped: ${(err as Error).message}\n  install the photos with: ${aptCommand(TEXTURE_SOURCES)}`);
    return undefined;
  }
}

async function runPmamba(dataset: string, root: string, teacherInit: 'self-supervised' | 'random'): Promise<Row> {
  const pretrain = { ...recipe.model.teacher?.pretrain, steps: Number(args['pretrain-steps']) };
  const store = await mkdtemp(join(tmpdir(), 'pmamba-quality-'));
  const config = parseRunConfig(
    {
      ...recipe,
      run: { id: `quality-${dataset}-${teacherInit}` },
      dataset: { ...recipe.dataset, root, synthetic: undefined },
      model: { ...recipe.model, teacher: { ...recipe.model.teacher, init: teacherInit, pretrain } },
      store: { url: `file://${store}` },
    },
    'quality bench config',
  );
  const started = performance.now();
  try {
    const outcome = await trainRun({ config, backend: 'wasm', localWorkers: config.training.workers });
    const table: ReportTable = outcome.evaluations.at(-1)!.result.table;
    return {
      dataset,
      detector: teacherInit === 'random' ? 'pmamba, random teacher, Gaussian stem (recipe)' : `pmamba, self-made teacher (${pretrain.steps} steps)`,
      classes: Object.fromEntries(Object.entries(table.classes).map(([c, m]) => [c, { i_auroc: m.i_auroc, p_auroc: m.p_auroc }])),
      mean: { i_auroc: table.mean.i_auroc, p_auroc: table.mean.p_auroc, au_pro: table.mean.au_pro, mad: table.mean.mad },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await rm(store, { recursive: true, force: true });
  }
}

async function runKnn(dataset: string, root: string): Promise<Row> {
  const started = performance.now();
  const results = await evaluatePatchKnn(root, { size });
  const mean = (k: 'i_auroc' | 'p_auroc' | 'au_pro' | 'mad') => results.reduce((s, r) => s + (r.metrics[k] ?? 0), 0) / results.length;
  return {
    dataset,
    detector: 'patch-kNN, Gaussian-derivative features',
    classes: Object.fromEntries(results.map((r) => [r.name, { i_auroc: r.metrics.i_auroc, p_auroc: r.metrics.p_auroc }])),
    mean: { i_auroc: mean('i_auroc'), p_auroc: mean('p_auroc'), au_pro: mean('au_pro'), mad: mean('mad') },
    seconds: (performance.now() - started) / 1000,
  };
}

console.log(machineLine(`wasm backend, recipe ${args.config} (${size}², ${recipe.training.rounds} rounds × ${recipe.training.localSteps} steps × batch ${recipe.training.batchSize} × ${recipe.training.workers} workers)`));
for (const dataset of datasets) {
  const root = await datasetRoot(dataset);
  if (!root) continue;
  for (const d of detectors) {
    if (d === 'knn') rows.push(await runKnn(dataset, root));
    else if (d === 'pmamba') rows.push(await runPmamba(dataset, root, 'random'));
    else if (d === 'pmamba-self') rows.push(await runPmamba(dataset, root, 'self-supervised'));
    else throw new Error(`unknown detector ${d}: expected knn, pmamba or pmamba-self`);
  }
}

const pct = (v: number | null) => (v === null ? '—' : (100 * v).toFixed(1));
console.log(`\n## Detection quality at ${size}² (%; each pmamba row is one full \`pmamba train\` run with a fresh store)\n`);
console.log('| data | detector | I-AUROC | worst class I-AUROC | P-AUROC | AU-PRO | mAD | wall time |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const [worstClass, worst] = Object.entries(r.classes)
    .map(([c, m]) => [c, m.i_auroc ?? 0] as const)
    .reduce((w, x) => (x[1] < w[1] ? x : w));
  console.log(`| ${r.dataset} | ${r.detector} | ${pct(r.mean.i_auroc)} | ${pct(worst)} (${worstClass}) | ${pct(r.mean.p_auroc)} | ${pct(r.mean.au_pro)} | ${pct(r.mean.mad)} | ${r.seconds.toFixed(0)} s |`);
}
console.log('\nper class I-AUROC / P-AUROC:');
for (const r of rows) {
  console.log(`  ${r.dataset.padEnd(9)} ${r.detector.padEnd(40)} ${Object.entries(r.classes).map(([c, m]) => `${c} ${pct(m.i_auroc)}/${pct(m.p_auroc)}`).join(', ')}`);
}
for (const dataset of datasets) {
  const knn = rows.find((r) => r.dataset === dataset && r.detector.startsWith('patch-kNN'));
  const ours = rows.find((r) => r.dataset === dataset && r.detector.startsWith('pmamba, random'));
  if (knn && ours && knn.mean.i_auroc !== null && ours.mean.i_auroc !== null) {
    const gap = ours.mean.i_auroc - knn.mean.i_auroc;
    console.log(`${dataset}: pmamba − patch-kNN = ${gap >= 0 ? '+' : ''}${(100 * gap).toFixed(1)} points of mean I-AUROC`);
  }
}
process.exit(0);
