import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunConfig } from '@pmamba/protocol';
import { classMetrics } from '../src/class-metrics.ts';

const evaluation = parseRunConfig({ dataset: { root: 'x' }, training: { rounds: 1, localSteps: 1 } }).evaluation;
const size = 4;
const plane = size * size;

/** Four images: two normal, two anomalous, each anomalous one with its top row as the defect (unless `blackMasks`). */
function data(labels: number[], blackMasks = false) {
  const n = labels.length;
  const maps = new Float32Array(n * plane);
  const masks = new Uint8Array(n * plane);
  labels.forEach((l, i) => {
    for (let p = 0; p < plane; p++) maps[i * plane + p] = l && p < size ? 0.9 : 0.1 + 0.01 * p;
    if (l && !blackMasks) masks.fill(1, i * plane, i * plane + size);
  });
  const scores = Float32Array.from(labels, (l, i) => (l ? 0.8 : 0.2) + 0.01 * i);
  return { scores, labels: Uint8Array.from(labels), maps, masks, size, anomalous: labels.filter((l) => l === 1).length };
}

describe('class metrics', () => {
  it('computes all eight where masks mark defects', () => {
    const { metrics } = classMetrics(data([0, 0, 1, 1]), true, evaluation);
    assert.equal(metrics.i_auroc, 1);
    assert.equal(metrics.p_auroc, 1);
    assert.ok(metrics.mad !== null && metrics.mad > 0.9);
    assert.equal(metrics.notes, undefined);
  });

  it('keeps the image metrics and says why the pixel metrics are n/a when every defect mask is black', () => {
    const { metrics } = classMetrics(data([0, 0, 1, 1], true), true, evaluation);
    assert.equal(metrics.i_auroc, 1);
    assert.deepEqual([metrics.p_auroc, metrics.p_ap, metrics.p_f1max, metrics.au_pro, metrics.mad], [null, null, null, null, null]);
    assert.deepEqual(metrics.notes, ['pixel metrics (p_auroc, p_ap, p_f1max, au_pro) and mAD: all 2 defect masks are empty (black)']);
  });

  it('gives every metric as n/a, with the counts, when the test set has only one kind of image', () => {
    const { metrics } = classMetrics(data([1, 1, 1]), true, evaluation);
    assert.equal(metrics.i_auroc, null);
    assert.deepEqual(metrics.notes, ['every metric: 0 normal and 3 anomalous readable test images; metrics need both']);
  });
});
