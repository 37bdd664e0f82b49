// The machinery under every metric: sort keys, radix sort, connected components, rankings,
// and the errors users see for bad or degenerate input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auroc, averagePrecision, computeAllMetrics, f1Max, MetricsError, rankScores } from '../src/index.ts';
import { auPro } from '../src/au-pro.ts';
import { foldRanking, rankPixels, type TieGroups } from '../src/ranking.ts';
import { labelComponents } from '../src/connected-components.ts';
import { radixSortUint32 } from '../src/radix-sort.ts';
import { float32SortKey, keyToFloat32 } from '../src/sort-keys.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test('float32 sort keys order like the floats and decode back; −0 ties with +0', () => {
  const values = [-Infinity, -3.4e38, -1, -1e-40, -0, 0, 1e-45, 1e-40, 0.3, 1, 3.4e38, Infinity];
  const f = new Float32Array(values);
  const bits = new Int32Array(f.buffer);
  const keys = Array.from(bits, (b) => float32SortKey(b) >>> 0);
  for (let i = 1; i < keys.length; i++) {
    if (i === 5) assert.equal(keys[i], keys[i - 1], '−0 and +0 share a key');
    else assert.ok(keys[i] > keys[i - 1], `${values[i - 1]} < ${values[i]}`);
  }
  keys.forEach((k, i) => assert.equal(keyToFloat32(k), f[i] === 0 ? 0 : f[i]));
});

test('radix sort: ascending, stable payload, skips constant digits', () => {
  const rand = lcg(3);
  const n = 5000;
  const keys = new Uint32Array(n).map(() => (rand() * 2 ** 32) >>> 0);
  keys.fill(7, 0, 100); // duplicates, to check stability
  const payload = new Uint32Array(n).map((_, i) => i);
  const expected = Array.from(keys, (k, i) => [k, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const sorted = radixSortUint32(keys.slice(), payload);
  assert.deepEqual(Array.from(sorted.keys), expected.map((e) => e[0]));
  assert.deepEqual(Array.from(sorted.payload!), expected.map((e) => e[1]));
  const narrow = new Uint32Array([0x80000005, 0x80000001, 0x80000003]); // high digits all equal
  assert.deepEqual(Array.from(radixSortUint32(narrow).keys), [0x80000001, 0x80000003, 0x80000005]);
});

test('connected components: 8-connectivity joins corners, 4 does not; sizes per region', () => {
  // 1 1 0 0
  // 0 0 1 0
  // 1 0 0 1
  const m = new Uint8Array([1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1]);
  const c8 = labelComponents(m, 3, 4, 8);
  assert.equal(c8.count, 2);
  assert.deepEqual(Array.from(c8.sizes), [4, 1]);
  assert.deepEqual(Array.from(c8.labels), [1, 1, 0, 0, 0, 0, 1, 0, 2, 0, 0, 1]);
  const c4 = labelComponents(m, 3, 4, 4);
  assert.equal(c4.count, 4);
  assert.deepEqual(Array.from(c4.sizes), [2, 1, 1, 1]);
  // regions never leak across image borders of a batch: the same pixels, offset
  const batch = new Uint8Array(24);
  batch.set(m, 12);
  assert.equal(labelComponents(batch, 3, 4, 8, 12).count, 2);
});

test('rankPixels: counts, regions across images, min/max, tie groups in descending order', () => {
  const maps = new Float32Array([0.5, 0.2, 0.2, -0, 0, 0.9, 0.5, 0.1]);
  const masks = new Uint8Array([1, 0, 0, 0, 0, 1, 1, 0]);
  const r = rankPixels(maps, masks, [2, 2, 2]);
  assert.equal(r.positives, 3);
  assert.equal(r.negatives, 5);
  assert.equal(r.regions, 2); // image 0: one pixel; image 1: two pixels touching diagonally
  assert.equal(r.minScore, 0);
  assert.equal(r.maxScore, Math.fround(0.9));
  const seen: number[][] = [];
  foldRanking(
    r,
    [{ add: (g: TieGroups) => { for (let k = 0; k < g.length; k++) seen.push([g.score[k], g.positives[k], g.negatives[k], g.regionWeight[k]]); }, result: () => 0 }],
    2, // tiny batches: groups must be identical across batch boundaries
  );
  assert.deepEqual(seen, [
    [Math.fround(0.9), 1, 0, 0.5],
    [0.5, 2, 0, 1.5],
    [Math.fround(0.2), 0, 2, 0],
    [Math.fround(0.1), 0, 1, 0],
    [0, 0, 2, 0], // −0 and +0 in one group
  ]);
});

function expectError(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MetricsError, `not a MetricsError: ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

test('errors: shapes, non-finite values and bad labels name the input', () => {
  const maps = new Float32Array(8);
  const masks = new Uint8Array(8);
  expectError(() => rankPixels(maps, masks, [2, 2, 3]), 'E_SHAPE', /maps has 8 values but shape \[2, 2, 3\] needs 12/);
  expectError(() => rankPixels(maps, new Uint8Array(4), [2, 2, 2]), 'E_SHAPE', /masks has 4 values/);
  const bad = maps.slice();
  bad[7] = NaN;
  expectError(() => rankPixels(bad, masks, [2, 2, 2], { fields: { maps: 'm.npy', masks: 'k.npy' } }), 'E_NOT_FINITE', /m\.npy\[1, 1, 1\] is NaN/);
  bad[7] = -Infinity;
  expectError(() => rankPixels(bad, masks, [2, 2, 2]), 'E_NOT_FINITE', /maps\[1, 1, 1\] is -Infinity/);
  expectError(() => rankScores([0.1, Infinity], [0, 1]), 'E_NOT_FINITE', /scores\[1\] is Infinity/);
  expectError(() => rankScores([0.1, 0.2], [0, 2]), 'E_LABEL_VALUE', /labels\[1\] is 2; labels must be 0/);
  expectError(() => rankScores([0.1, 0.2], [0]), 'E_SHAPE', /scores has 2 entries but labels has 1/);
  expectError(() => rankPixels(maps, masks, [2, 2, 2], { connectivity: 6 as 4 }), 'E_ARGUMENT', /connectivity must be 4 or 8/);
});

test('one class only: every metric raises E_ONE_CLASS, as scikit-learn does for ROC AUC', () => {
  const allNormal = rankScores([0.1, 0.5], [0, 0]);
  for (const f of [auroc, averagePrecision, f1Max]) {
    expectError(() => f(allNormal), 'E_ONE_CLASS', /labels contain no anomalous image/);
  }
  expectError(() => auroc(rankScores([0.1, 0.5], [1, 1])), 'E_ONE_CLASS', /no normal image/);
  const noDefect = rankPixels(new Float32Array(4), new Uint8Array(4), [1, 2, 2]);
  for (const f of [auroc, averagePrecision, f1Max, auPro]) {
    expectError(() => f(noDefect), 'E_ONE_CLASS', /masks contain no anomalous pixel/);
  }
  expectError(
    () => computeAllMetrics({ scores: [1, 2], labels: [0, 1], maps: new Float32Array(4), masks: new Uint8Array(4).fill(1), shape: [1, 2, 2] }),
    'E_ONE_CLASS',
    /P-AUROC is undefined: masks contain no normal pixel/,
  );
});

test('AU-PRO refuses a bad FPR limit and image rankings', () => {
  const r = rankPixels(new Float32Array([0.1, 0.9]), new Uint8Array([0, 1]), [1, 1, 2]);
  for (const fprLimit of [0, -0.1, 1.5, NaN]) expectError(() => auPro(r, { fprLimit }), 'E_ARGUMENT', /fprLimit must be a number in \(0, 1\]/);
  expectError(() => auPro(rankScores([0.1, 0.9], [0, 1])), 'E_ARGUMENT', /needs a pixel ranking/);
});
