// Cases small enough to compute by hand (those of metrics_ref.py's self-test and a few more),
// and a brute-force check of every metric on random tied data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auroc, averagePrecision, computeAllMetrics, f1Max, rankScores } from '../src/index.ts';
import { auPro } from '../src/au-pro.ts';
import { proCurveFold } from '../src/curves.ts';
import { rankPixels, runFold } from '../src/ranking.ts';

const near = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) < 1e-12, `${what} ${a} vs ${b}`);

test('image level by hand: scores 0.8(+) 0.4(−) 0.35(+) 0.1(−)', () => {
  const r = rankScores([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
  near(auroc(r), 0.75);
  near(averagePrecision(r), (1 + 2 / 3) / 2);
  near(f1Max(r), 0.8);
});

test('ties across classes count one half in AUROC and enter AP/F1 as one step', () => {
  // 0.9(+) then a tie at 0.5 of one positive and one negative, then 0.2(−)
  const r = rankScores([0.9, 0.5, 0.5, 0.2], [1, 1, 0, 0]);
  near(auroc(r), (2 + 1.5) / 4); // pairs: (0.9 > both), (0.5 vs 0.5 tie → ½, 0.5 > 0.2)
  near(averagePrecision(r), 0.5 * 1 + 0.5 * (2 / 3));
  near(f1Max(r), Math.max(2 / 3, 0.8)); // top-1: P=1 R=½ → ⅔; top-3: P=⅔ R=1 → 0.8
});

/** The 4×5 image of metrics_ref.py's self-test: regions A = {(0,0),(1,1)}, B = {(3,3),(3,4)}. */
function selfTestImage(): { maps: Float32Array; masks: Uint8Array } {
  const masks = new Uint8Array(20);
  for (const [i, j] of [[0, 0], [1, 1], [3, 3], [3, 4]]) masks[i * 5 + j] = 1;
  const maps = new Float32Array(20);
  const high = [0.97, 0.95, 0.94, 0.93];
  let k = 0;
  for (let p = 0; p < 20; p++) {
    if (masks[p]) continue;
    maps[p] = k < 4 ? high[k] : 0.03 * (k - 4);
    k++;
  }
  maps[0] = 0.99;
  maps[18] = 0.98;
  maps[6] = 0.96;
  maps[19] = 0.5;
  return { maps, masks };
}

test('pixel level by hand (metrics_ref.py self-test): AUROC 59/64, AP 0.8125, F1max 0.75', () => {
  const { maps, masks } = selfTestImage();
  const r = rankPixels(maps, masks, [1, 4, 5]);
  near(auroc(r), 59 / 64);
  near(averagePrecision(r), 0.8125);
  near(f1Max(r), 0.75);
});

test('AU-PRO by hand: diagonal pixels form one region with 8-connectivity, two with 4', () => {
  const { maps, masks } = selfTestImage();
  const r8 = rankPixels(maps, masks, [1, 4, 5]);
  assert.equal(r8.regions, 2);
  near(auPro(r8), (0.0625 * 0.5 + 0.1875 * 0.75 + 0.05 * 1.0) / 0.3);
  const r4 = rankPixels(maps, masks, [1, 4, 5], { connectivity: 4 });
  assert.equal(r4.regions, 3);
  near(auPro(r4), (0.0625 * 0.5 + (0.1875 * 2.5) / 3 + 0.05) / 0.3);
});

test('AU-PRO integration limit on a curve point and between points', () => {
  // 10 normal pixels scored 0.9, 0.8, …, 0.0 and one region of 4 pixels tied with the first four
  // normals: the PRO curve is (0,0) (.1,.25) (.2,.5) (.3,.75) (.4,1) … (1,1), tied groups giving slopes
  const maps = new Float32Array(14);
  const masks = new Uint8Array(14);
  for (let i = 0; i < 10; i++) maps[i] = 0.9 - 0.1 * i + 0.001;
  for (let j = 0; j < 4; j++) {
    maps[10 + j] = maps[j];
    masks[10 + j] = 1;
  }
  // one image of 1×14: the four mask pixels touch, so they are one region
  const r = rankPixels(maps, masks, [1, 1, 14]);
  assert.equal(r.regions, 1);
  // exactly on the point FPR 0.3 (3/10 is the double nearest 0.3)
  const upTo03 = 0.1 * (0 + 0.25) / 2 + 0.1 * (0.25 + 0.5) / 2 + 0.1 * (0.5 + 0.75) / 2;
  near(auPro(r, { fprLimit: 0.3 }), upTo03 / 0.3);
  // between points: PRO at 0.35 interpolates to 0.875
  near(auPro(r, { fprLimit: 0.35 }), (upTo03 + 0.05 * (0.75 + 0.875) / 2) / 0.35);
  near(auPro(r, { fprLimit: 1 }), (upTo03 + 0.1 * (0.75 + 1) / 2 + 0.6) / 1);
});

test('PRO curve reaches (1, 1) and starts at (0, 0)', () => {
  const { maps, masks } = selfTestImage();
  const r = rankPixels(maps, masks, [1, 4, 5]);
  const c = runFold(r, proCurveFold(r, 1000));
  assert.deepEqual([c.x[0], c.y[0]], [0, 0]);
  assert.deepEqual([c.x.at(-1), c.y.at(-1)], [1, 1]);
});

/* Brute force straight from the definitions, O(thresholds × samples). */
function bruteForce(scores: number[], labels: number[]) {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  let pairs = 0;
  for (const p of pos) for (const n of neg) pairs += p > n ? 1 : p === n ? 0.5 : 0;
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  let ap = 0;
  let prevRecall = 0;
  let f1 = 0;
  for (const t of thresholds) {
    const tp = pos.filter((s) => s >= t).length;
    const fp = neg.filter((s) => s >= t).length;
    const precision = tp / (tp + fp);
    const recall = tp / pos.length;
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
    if (tp > 0) f1 = Math.max(f1, (2 * precision * recall) / (precision + recall));
  }
  return { auroc: pairs / (pos.length * neg.length), ap, f1 };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test('random tied scores: AUROC, AP, F1max equal the brute-force definitions', () => {
  const rand = lcg(7);
  for (let trial = 0; trial < 30; trial++) {
    const n = 5 + Math.floor(rand() * 60);
    const levels = 2 + Math.floor(rand() * 12);
    const scores = Array.from({ length: n }, () => Math.floor(rand() * levels) / levels);
    const labels = scores.map((s) => (rand() < 0.3 + 0.4 * s ? 1 : 0));
    labels[0] = 1;
    labels[1] = 0;
    const bf = bruteForce(scores, labels);
    const r = rankScores(scores, labels);
    near(auroc(r), bf.auroc, `trial ${trial} AUROC`);
    near(averagePrecision(r), bf.ap, `trial ${trial} AP`);
    near(f1Max(r), bf.f1, `trial ${trial} F1max`);
  }
});

test('random tied maps: pixel metrics equal the image-level formulas on the flattened pixels', () => {
  const rand = lcg(11);
  const [n, h, w] = [3, 9, 7];
  const maps = new Float32Array(n * h * w).map(() => Math.round(rand() * 16) / 16);
  const masks = new Uint8Array(n * h * w).map(() => (rand() < 0.2 ? 1 : 0));
  const pixels = rankPixels(maps, masks, [n, h, w]);
  const flat = rankScores(maps, masks);
  near(auroc(pixels), auroc(flat));
  near(averagePrecision(pixels), averagePrecision(flat));
  near(f1Max(pixels), f1Max(flat));
  const bf = bruteForce(Array.from(maps), Array.from(masks));
  near(auroc(pixels), bf.auroc);
});

test('computeAllMetrics: mAD is the mean of the seven; F1 thresholds are scores', () => {
  const { maps, masks } = selfTestImage();
  const r = computeAllMetrics({ scores: [0.1, 0.9, 0.2], labels: [0, 1, 0], maps, masks, shape: [1, 4, 5] });
  const { mad, ...seven } = r.metrics;
  near(mad, Object.values(seven).reduce((a, b) => a + b) / 7);
  assert.equal(r.thresholds.image, 0.9);
  assert.equal(r.thresholds.pixel, Math.fround(0.96)); // the top 4 pixels give F1 0.75
  assert.equal(r.extra, undefined);
  assert.equal(r.curves, undefined);
});

test('radix-sorted pixels agree with a plain float64 sort on 300 k distinct and signed values', () => {
  const rand = lcg(5);
  const [n, h, w] = [5, 240, 250];
  const maps = new Float32Array(n * h * w).map(() => (rand() - 0.3) * 2 ** (rand() * 20 - 10));
  const masks = new Uint8Array(n * h * w).map((_, i) => (rand() < 0.02 + 0.3 * Number(maps[i] > 0.5) ? 1 : 0));
  const pixels = rankPixels(maps, masks, [n, h, w]);
  const flat = rankScores(maps, masks);
  assert.equal(pixels.minScore, flat.minScore);
  assert.equal(pixels.maxScore, flat.maxScore);
  near(auroc(pixels), auroc(flat), 'AUROC');
  near(averagePrecision(pixels), averagePrecision(flat), 'AP');
  near(f1Max(pixels), f1Max(flat), 'F1max');
});
