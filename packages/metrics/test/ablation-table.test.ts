import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ablationCsv, ablationHtml, ablationMarkdown, buildAblationTable } from '../src/index.ts';

const levels = (n: number) => ({ mode: 'levels', levels: [n, n, n, n] });
const table = buildAblationTable({
  name: 'levels',
  paths: ['model.pyramid'],
  baseline: 1,
  columns: ['i_auroc', 'mad'],
  variants: [
    { label: 'l1', values: { 'model.pyramid': levels(1) }, status: 'done', runs: [{ seed: 1, metrics: { i_auroc: 0.8, mad: 0.6 } }, { seed: 2, metrics: { i_auroc: 0.9, mad: 0.7 } }] },
    { label: 'l2', values: { 'model.pyramid': levels(2) }, status: 'done', runs: [{ seed: 1, metrics: { i_auroc: 0.95, mad: 0.75 } }, { seed: 2, metrics: { i_auroc: 0.85, mad: null } }] },
    { label: 'l3', values: { 'model.pyramid': levels(3) }, status: 'stopped', runs: [] },
  ],
});

describe('ablation table', () => {
  it('averages seeds (sample std) and takes Δ to the baseline mean', () => {
    const l1 = table.rows[0].cells.i_auroc!;
    assert.ok(Math.abs(l1.mean - 0.85) < 1e-12);
    assert.ok(Math.abs(l1.std - Math.sqrt(0.005)) < 1e-12, `std ${l1.std}`);
    assert.ok(Math.abs(l1.delta! - (0.85 - 0.9)) < 1e-12);
    assert.equal(table.rows[1].cells.mad!.n, 1, 'a null metric is left out of its mean');
    assert.equal(table.rows[1].cells.mad!.std, 0);
    assert.equal(table.rows[2].cells.mad, null);
  });

  it('prints md, csv and html with the plot of each metric', () => {
    const md = ablationMarkdown(table);
    assert.match(md, /\| 0: model\.pyramid=levels 1,1,1,1 \| 2 \| 85\.0 ± 7\.1 \(-5\.0\) \| 65\.0 ± 7\.1 \(-10\.0\) \|/);
    assert.match(md, /\| 1: model\.pyramid=levels 2,2,2,2 \(baseline\) \| 2 \| 90\.0 ± 7\.1 \| 75\.0 \|/);
    assert.match(md, /\| 2: model\.pyramid=levels 3,3,3,3 \(stopped\) \| 0 \| — \| — \|/);
    const csv = ablationCsv(table).split('\n');
    assert.equal(csv[0], 'variant,label,status,baseline,seeds,value:model.pyramid,i_auroc_mean,i_auroc_std,i_auroc_n,i_auroc_delta,mad_mean,mad_std,mad_n,mad_delta');
    assert.match(csv[1], /^0,l1,done,false,1 2,"\{""mode"":""levels"",""levels"":\[1,1,1,1\]\}",0\.850000,0\.070711,2,-0\.050000,/);
    const html = ablationHtml(table);
    assert.equal(html.match(/<svg /g)?.length, 2, 'one plot per metric and swept path');
    assert.match(html, /levels 1,1,1,1/);
    assert.match(html, /mAD vs model\.pyramid/);
  });

  it('refuses a baseline that is not a variant', () => {
    assert.throws(() => buildAblationTable({ name: 'x', paths: [], variants: [], baseline: 0 }), RangeError);
  });
});
