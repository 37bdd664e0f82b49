// Benchmark: all seven metrics on a full MVTec AD-sized test set: 1,725 maps of 256×256
// (113 M pixels; 1,258 anomalous images with blob-shaped defects, 467 normal, as in MVTec AD).
//   npx tsx bench/metrics.bench.ts [--images 1725] [--size 256] [--extras]
// Prints the machine, wall-clock seconds per stage and the process's peak RSS.
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { computeAllMetrics } from '../packages/metrics/src/index.ts';
import { mulberry32 } from '../packages/model/src/rng.ts';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '1725' },
    size: { type: 'string', default: '256' },
    extras: { type: 'boolean', default: false }, // also time --ader extras and curves
  },
});
const N = Number(args.images);
const S = Number(args.size);
const ANOMALOUS = Math.round((N * 1258) / 1725);

/**
 * Model-like maps: a smooth background (bilinear upsampling of a coarse random grid), a small
 * per-pixel jitter, and for anomalous images 1–3 elliptical defects (radii 1.5–38 px, 30 % of
 * them under 5 px) whose mask is the ellipse and whose map response is a Gaussian bump of
 * random strength around it.
 */
function makeData(): { maps: Float32Array; masks: Uint8Array; scores: Float64Array; labels: Uint8Array } {
  const rand = mulberry32(1725); // deterministic: every run measures the same data
  const maps = new Float32Array(N * S * S);
  const masks = new Uint8Array(N * S * S);
  const scores = new Float64Array(N);
  const labels = new Uint8Array(N);
  const G = 9; // coarse grid points per side
  const grid = new Float64Array(G * G);
  for (let i = 0; i < N; i++) {
    const base = i * S * S;
    for (let g = 0; g < G * G; g++) grid[g] = 0.05 + 0.2 * rand();
    for (let y = 0; y < S; y++) {
      const gy = (y / (S - 1)) * (G - 1);
      const y0 = Math.min(Math.floor(gy), G - 2);
      const fy = gy - y0;
      for (let x = 0; x < S; x++) {
        const gx = (x / (S - 1)) * (G - 1);
        const x0 = Math.min(Math.floor(gx), G - 2);
        const fx = gx - x0;
        const v =
          grid[y0 * G + x0] * (1 - fy) * (1 - fx) +
          grid[y0 * G + x0 + 1] * (1 - fy) * fx +
          grid[(y0 + 1) * G + x0] * fy * (1 - fx) +
          grid[(y0 + 1) * G + x0 + 1] * fy * fx;
        maps[base + y * S + x] = v + 0.01 * rand();
      }
    }
    if (i < ANOMALOUS) {
      labels[i] = 1;
      const defects = 1 + Math.floor(rand() * 3);
      for (let d = 0; d < defects; d++) {
        const r0 = rand() < 0.3 ? 1.5 + rand() * 3 : 4 + rand() * 34;
        const ry = r0 * (0.5 + rand());
        const rx = r0 * (0.5 + rand());
        const cy = rand() * S;
        const cx = rand() * S;
        const strength = 0.05 + 0.6 * rand();
        const reach = 2.5;
        for (let y = Math.max(0, Math.floor(cy - reach * ry)); y < Math.min(S, Math.ceil(cy + reach * ry)); y++) {
          for (let x = Math.max(0, Math.floor(cx - reach * rx)); x < Math.min(S, Math.ceil(cx + reach * rx)); x++) {
            const q = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2;
            if (q <= 1) masks[base + y * S + x] = 1;
            maps[base + y * S + x] += strength * Math.exp(-q / 2);
          }
        }
      }
    }
    let max = -Infinity;
    for (let k = 0; k < S * S; k++) if (maps[base + k] > max) max = maps[base + k];
    scores[i] = max;
  }
  return { maps, masks, scores, labels };
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${mb(totalmem())} RAM`);
console.log(`node ${process.version} (${process.platform}/${process.arch})`);

let t = performance.now();
const data = makeData();
let positives = 0;
for (let k = 0; k < data.masks.length; k++) positives += data.masks[k];
console.log(
  `data: ${N} maps of ${S}×${S} = ${(data.maps.length / 1e6).toFixed(1)} M pixels, ` +
    `${ANOMALOUS} anomalous images, ${((100 * positives) / data.masks.length).toFixed(2)} % anomalous pixels ` +
    `(generated in ${((performance.now() - t) / 1000).toFixed(1)} s; inputs ${mb(data.maps.byteLength + data.masks.byteLength)})`,
);
const rssBefore = peakRss();

t = performance.now();
const result = computeAllMetrics({ ...data, shape: [N, S, S] });
const seconds = (performance.now() - t) / 1000;
const rssAfter = peakRss();
console.log(`all seven metrics + mAD: ${seconds.toFixed(2)} s`);
console.log(`peak RSS: ${mb(rssAfter)} (process, inputs included; ${mb(rssBefore)} before the metrics ran)`);
console.log(
  'values: ' +
    Object.entries(result.metrics)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(', '),
);

if (args.extras) {
  t = performance.now();
  const more = computeAllMetrics({ ...data, shape: [N, S, S] }, { ader: true, curveBins: 256 });
  console.log(
    `with --ader extras and curves: ${((performance.now() - t) / 1000).toFixed(2)} s, ` +
      `peak RSS ${mb(peakRss())}; extras ${JSON.stringify(more.extra)}`,
  );
}
