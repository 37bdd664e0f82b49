// Benchmark: dataset loading (decode → resize/centre-crop → ImageNet normalise → CHW floats)
// in images per second at 256², on a synthetic MVTec-layout data set written to a temp folder.
//   npx tsx bench/data.bench.ts [--images 192] [--concurrency N] [--repeats 3]
// Two sources: PNGs already 256² (decode + normalise only) and 512² PNGs (adds the resize, as
// real MVTec images of 700–1024 px do), plus masks of the anomalous test images.
// Prints the machine, sharp/libvips versions and the measured rates.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadBatch, readMvtec, synthesize } from '../packages/data/src/index.ts';
import type { Sample } from '../packages/data/src/index.ts';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '192' },
    concurrency: { type: 'string' },
    repeats: { type: 'string', default: '3' },
  },
});
const IMAGES = Number(args.images);
const CONCURRENCY = args.concurrency ? Number(args.concurrency) : availableParallelism();
const REPEATS = Number(args.repeats);
const SIZE = 256;
const CLASSES = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(label: string, samples: Sample[], masks: boolean): Promise<void> {
  await loadBatch(samples.slice(0, Math.min(8, samples.length)), { size: SIZE, masks, concurrency: CONCURRENCY }); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    const b = await loadBatch(samples, { size: SIZE, masks, concurrency: CONCURRENCY });
    const s = (performance.now() - t) / 1000;
    if (b.samples.length !== samples.length) throw new Error(`${label}: loaded ${b.samples.length} of ${samples.length}`);
    rates.push(samples.length / s);
  }
  const mb = (median(rates) * 3 * SIZE * SIZE * 4) / 1e6;
  console.log(
    `${label.padEnd(44)} ${String(samples.length).padStart(5)} images  ` +
      `median ${median(rates).toFixed(1).padStart(7)} img/s  best ${Math.max(...rates).toFixed(1).padStart(7)} img/s  ` +
      `(${mb.toFixed(0)} MB/s of float32 output)`,
  );
}

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} logical cores (availableParallelism ${availableParallelism()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
console.log(`node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, sharp threads ${sharp.concurrency()}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
console.log(`loader concurrency ${CONCURRENCY}, ${REPEATS} timed passes each (after a warm-up), output ${SIZE}² CHW float32`);

const dir = await mkdtemp(join(tmpdir(), 'pmamba-bench-data-'));
try {
  const perClass = Math.ceil(IMAGES / CLASSES);
  for (const source of [256, 512]) {
    const root = join(dir, String(source));
    const t = performance.now();
    await synthesize({ out: root, classes: CLASSES, size: source, train: perClass, test: 20, seed: 0 });
    const synthSeconds = (performance.now() - t) / 1000;
    const ix = await readMvtec(root);
    const train = ix.classes.flatMap((c) => c.train);
    const anomalous = ix.classes.flatMap((c) => c.test.filter((s) => s.label === 1));
    console.log(`\nsource ${source}²: synthesised ${train.length + ix.classes.length * 20} images in ${synthSeconds.toFixed(1)} s`);
    await measure(`PNG ${source}² → ${SIZE}² images`, train, false);
    await measure(`PNG ${source}² → ${SIZE}² images + masks (anomalous)`, anomalous, true);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
