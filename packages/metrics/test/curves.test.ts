// Curves for plots and the evaluator's approximations' building blocks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeAllMetrics, rankScores } from '../src/index.ts';
import { curveDecimator } from '../src/curve-decimation.ts';
import { foldRanking } from '../src/ranking.ts';
import { prCurveFold, rocCurveFold } from '../src/curves.ts';
import { numpyArange } from '../src/ader.ts';

test('ROC and PR curves: scikit-learn points of a small case, in order', () => {
  // ranking 0.8(+) 0.4(−) 0.35(+) 0.1(−)
  const r = rankScores([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
  const roc = rocCurveFold(r, 10_000);
  const pr = prCurveFold(r, 10_000);
  foldRanking(r, [roc, pr]);
  assert.deepEqual(roc.result(), { x: [0, 0, 0.5, 0.5, 1], y: [0, 0.5, 0.5, 1, 1] });
  assert.deepEqual(pr.result(), { x: [0, 0.5, 0.5, 1, 1], y: [1, 1, 0.5, 2 / 3, 0.5] });
});

test('decimation keeps at most 4 points per column and the extremes of each', () => {
  const d = curveDecimator(10);
  const n = 100_000;
  let maxY = -1;
  for (let i = 0; i <= n; i++) {
    const x = i / n;
    const y = 0.5 + 0.4 * Math.sin(i); // wild zig-zag
    if (x < 0.1) maxY = Math.max(maxY, y);
    d.push(x, y);
  }
  const c = d.result();
  assert.ok(c.x.length <= 4 * 10 + 1, `${c.x.length} points`);
  assert.deepEqual([c.x[0], c.y[0]], [0, 0.5]);
  assert.equal(c.x.at(-1), 1);
  assert.ok(c.y.slice(0, 4).includes(maxY), 'first column keeps its highest point');
  for (let i = 1; i < c.x.length; i++) assert.ok(c.x[i] >= c.x[i - 1], 'x stays ordered');
});

test('computeAllMetrics returns decimated curves when asked', () => {
  const maps = new Float32Array(400).map((_, i) => ((i * 7919) % 400) / 400);
  const masks = new Uint8Array(400).map((_, i) => (i % 20 < 3 ? 1 : 0));
  const r = computeAllMetrics({ scores: [0.2, 0.7], labels: [0, 1], maps, masks, shape: [1, 20, 20] }, { curveBins: 16 });
  const { image, pixel } = r.curves!;
  for (const c of [image.roc, pixel.roc, pixel.pro]) {
    assert.deepEqual([c.x[0], c.y[0], c.x.at(-1), c.y.at(-1)], [0, 0, 1, 1]);
    assert.ok(c.x.length <= 4 * 16 + 1);
  }
  assert.deepEqual([pixel.pr.x[0], pixel.pr.y[0]], [0, 1]);
  assert.equal(pixel.pr.x.at(-1), 1);
});

test('numpyArange reproduces numpy.arange lengths and values', () => {
  const grid = numpyArange(0, 1 + 1e-3, 0.05);
  assert.equal(grid.length, 21);
  assert.equal(grid[3], 0.15000000000000002);
  assert.equal(grid[7], 0.35000000000000003);
  const a = numpyArange(0.1, 0.7, (0.7 - 0.1) / 100);
  assert.equal(a.length, 100);
  assert.equal(a[1], 0.10600000000000001);
  assert.equal(a[57], 0.4420000000000003);
  assert.equal(a[99], 0.6940000000000005);
  const lo = Math.fround(0.0123);
  const hi = Math.fround(0.987);
  const b = numpyArange(lo, hi, (hi - lo) / 100);
  assert.equal(b.length, 100);
  assert.equal(b[57], 0.5678789933025836);
  assert.equal(b[99], 0.9772529886662957);
});
