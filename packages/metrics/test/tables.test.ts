// Benchmark tables in the four formats, reference rows from configs/reference-results.yaml.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { buildBenchmarkTable, MetricsError, tableToCsv, tableToMarkdown } from '../src/index.ts';
import { csvField } from '../src/table-csv.ts';
import { loadReferenceResults, parseReferenceResults, selectReferences } from '../src/reference-results.ts';
import { tableToHtml } from '../src/table-html.ts';
import { tableToJson } from './support/table-json.ts';

const CONFIG = fileURLToPath(new URL('../../../configs/reference-results.yaml', import.meta.url));

const bottle = { i_auroc: 1, i_ap: 1, i_f1max: 1, p_auroc: 0.988, p_ap: 0.79, p_f1max: 0.76, au_pro: 0.96 };
const grid = { i_auroc: 0.95, i_ap: 0.97, i_f1max: 0.93, p_auroc: 0.97, p_ap: 0.5, p_f1max: 0.55, au_pro: 0.92 };

test('configs/reference-results.yaml: the published MVTec AD and VisA numbers of MODEL.md', () => {
  const all = loadReferenceResults(CONFIG);
  const mvtec = selectReferences(all, { dataset: 'mvtec-ad' });
  assert.deepEqual(mvtec.map((r) => r.id), ['mambaad-paper', 'pyramid-mamba-abstract', 'uniad-ader-300ep', 'rd4ad-ader-100ep']);
  const { mad, ...seven } = mvtec[0].values;
  assert.deepEqual(seven, { i_auroc: 0.986, i_ap: 0.996, i_f1max: 0.978, p_auroc: 0.977, p_ap: 0.563, p_f1max: 0.592, au_pro: 0.931 });
  assert.ok(Math.abs(mad! - (98.6 + 99.6 + 97.8 + 97.7 + 56.3 + 59.2 + 93.1) / 700) < 1e-12);
  // the abstract's "≈ +1 over MambaAD" on P-AP and AU-PRO
  assert.equal(mvtec[1].approximate, true);
  assert.deepEqual(mvtec[1].values, { p_ap: 0.573, au_pro: 0.941 });
  const visa = selectReferences(all, { dataset: 'visa' });
  assert.equal(visa.length, 1);
  assert.equal(visa[0].values.p_ap, 0.394);
  assert.throws(() => selectReferences(all, { ids: ['nope'] }), /reference 'nope' not found; known: mambaad-paper/);
});

test('reference YAML errors name the file and field', () => {
  const cases: [string, RegExp][] = [
    ['references: [{ id: a, name: A, metrics: { p_ap: 120 } }]', /x\.yaml: references\[0\]\.metrics\.p_ap must be a number in \[0, 100\]/],
    ['references: [{ id: a, name: A, metrics: { pap: 50 } }]', /references\[0\]\.metrics\.pap is not a metric key/],
    ['references: [{ id: a, name: A }, { id: a, name: B }]', /references\[1\]\.id repeats id 'a'/],
    ['references: [{ id: a, name: A, relative_to: b, delta: { p_ap: 1 } }]', /references\[0\]\.relative_to must name another entry/],
    ['references: [{ id: a, name: A, delta: { p_ap: 1 } }]', /references\[0\]\.delta needs relative_to/],
    ['references: [{ id: a, name: "" }]', /references\[0\]\.name must be a non-empty string/],
    ['refs: []', /references must be a list/],
    ['references: [ {', /x\.yaml: not valid YAML/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseReferenceResults(text, 'x.yaml'), (e: unknown) => {
      assert.ok(e instanceof MetricsError);
      assert.equal(e.code, 'E_REFERENCE_FILE');
      assert.match(e.message, pattern);
      return true;
    });
  }
  assert.throws(() => loadReferenceResults('/nonexistent/refs.yaml'), /\/nonexistent\/refs\.yaml: cannot read reference results/);
});

test('table: mean row, mAD per class, Δ against references', () => {
  const refs = selectReferences(loadReferenceResults(CONFIG), { ids: ['mambaad-paper'] });
  const t = buildBenchmarkTable([{ name: 'bottle', metrics: bottle }, { name: 'grid', metrics: grid }], { references: refs });
  assert.equal(t.mean.values.p_ap, (0.79 + 0.5) / 2);
  const madBottle = Object.values(bottle).reduce((a, b) => a + b) / 7;
  assert.equal(t.rows[0].values.mad, madBottle);
  assert.ok(Math.abs(t.references[0].delta.p_ap! - ((0.79 + 0.5) / 2 - 0.563)) < 1e-12);
  // a class without a value leaves the mean of that column unknown rather than biased
  const partial = buildBenchmarkTable([{ name: 'bottle', metrics: bottle }, { name: 'grid', metrics: { i_auroc: 0.9 } }]);
  assert.equal(partial.mean.values.p_ap, undefined);
  assert.equal(partial.mean.values.i_auroc, 0.95);
  assert.throws(() => buildBenchmarkTable([{ name: 'x', metrics: { p_ap: 56.3 } }]), /class 'x': p_ap must be a fraction in \[0, 1\]/);
  assert.throws(() => buildBenchmarkTable([{ name: 'x', metrics: {} }, { name: 'x', metrics: {} }]), /class 'x' appears twice/);
});

test('Markdown: percentages, bold mean, italic references with ≈, Δ column and Δ rows', () => {
  const refs = selectReferences(loadReferenceResults(CONFIG), { ids: ['mambaad-paper', 'pyramid-mamba-abstract'] });
  const t = buildBenchmarkTable([{ name: 'bottle', metrics: bottle }, { name: 'a|b <x>', metrics: grid }], { references: refs });
  assert.equal(
    tableToMarkdown(t, { deltaRows: true }),
    [
      '| class | I-AUROC | I-AP | I-F1max | P-AUROC | P-AP | P-F1max | AU-PRO | mAD | Δ mAD (ours − ref) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      '| bottle | 100.0 | 100.0 | 100.0 | 98.8 | 79.0 | 76.0 | 96.0 | 92.8 |  |',
      '| a\\|b \\<x\\> | 95.0 | 97.0 | 93.0 | 97.0 | 50.0 | 55.0 | 92.0 | 82.7 |  |',
      '| **mean** | **97.5** | **98.5** | **96.5** | **97.9** | **64.5** | **65.5** | **94.0** | **87.8** |  |',
      '| *MambaAD (its paper)* | 98.6 | 99.6 | 97.8 | 97.7 | 56.3 | 59.2 | 93.1 | 86.0 | +1.7 |',
      '| Δ vs MambaAD (its paper) | -1.1 | -1.1 | -1.3 | +0.2 | +8.2 | +6.3 | +0.9 | +1.7 |  |',
      '| *Pyramid Mamba (abstract)* | — | — | — | — | ≈57.3 | — | ≈94.1 | — | — |',
      '| Δ vs Pyramid Mamba (abstract) | — | — | — | — | ≈+7.2 | — | ≈-0.1 | — |  |',
      '',
    ].join('\n'),
  );
  const plain = tableToMarkdown(buildBenchmarkTable([{ name: 'bottle', metrics: bottle }]), { digits: 2 });
  assert.equal(plain.split('\n')[2], '| bottle | 100.00 | 100.00 | 100.00 | 98.80 | 79.00 | 76.00 | 96.00 | 92.83 |');
});

test('CSV: fractions, RFC 4180 quoting, formula guard, deltas per column', () => {
  const refs = selectReferences(loadReferenceResults(CONFIG), { ids: ['uniad-ader-300ep'] });
  const t = buildBenchmarkTable([{ name: '=cmd()', metrics: bottle }, { name: 'say "hi", ok', metrics: grid }], { references: refs });
  const lines = tableToCsv(t).trimEnd().split('\n');
  assert.equal(lines[0], 'kind,name,i_auroc,i_ap,i_f1max,p_auroc,p_ap,p_f1max,au_pro,mad,approximate,' +
    'delta_i_auroc,delta_i_ap,delta_i_f1max,delta_p_auroc,delta_p_ap,delta_p_f1max,delta_au_pro,delta_mad');
  assert.ok(lines[1].startsWith("class,'=cmd(),1.000000,1.000000,1.000000,0.988000,0.790000,"));
  assert.ok(lines[2].startsWith('class,"say ""hi"", ok",0.950000,'));
  assert.ok(lines[3].startsWith('mean,mean,0.975000,'));
  assert.ok(lines[4].startsWith('reference,"UniAD (ADer rerun, 300 ep)",0.968000,0.989000,'));
  assert.equal(lines[4].split(',').at(-9), 'false');
  assert.equal(csvField('-1'), "'-1");
  assert.equal(tableToCsv(buildBenchmarkTable([{ name: 'x', metrics: {} }])).split('\n')[1], 'class,x,,,,,,,,');
});

test('JSON: fractions under the CLI keys, null for unknown', () => {
  const refs = selectReferences(loadReferenceResults(CONFIG), { ids: ['pyramid-mamba-abstract'] });
  const doc = JSON.parse(tableToJson(buildBenchmarkTable([{ name: 'bottle', metrics: bottle }], { references: refs })));
  assert.equal(doc.units, 'fraction');
  assert.deepEqual(doc.classes[0].values, { ...bottle, mad: Object.values(bottle).reduce((a, b) => a + b) / 7 });
  assert.equal(doc.references[0].values.i_auroc, null);
  assert.equal(doc.references[0].approximate, true);
  assert.ok(Math.abs(doc.references[0].delta.p_ap - (0.79 - 0.573)) < 1e-12);
});

test('HTML table escapes names and sources', () => {
  const refs = parseReferenceResults('references: [{ id: r, name: "<img src=x onerror=alert(1)>", source: "a\\"b", metrics: { p_ap: 50 } }]');
  const html = tableToHtml(buildBenchmarkTable([{ name: '<script>alert(1)</script>', metrics: bottle }], { references: refs }), {
    caption: 'R&D',
  });
  assert.ok(!html.includes('<script>') && !html.includes('<img'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
  assert.ok(html.includes('title="a&quot;b"'));
  assert.ok(html.includes('<caption>R&amp;D</caption>'));
});

test('undefined metrics print as n/a in our rows, with the reason under the table', () => {
  const { p_auroc, p_ap, p_f1max, au_pro, ...imageOnly } = grid;
  void [p_auroc, p_ap, p_f1max, au_pro];
  const table = buildBenchmarkTable([
    { name: 'bottle', metrics: bottle },
    { name: 'grid', metrics: imageOnly, notes: ['pixel metrics: all 4 defect masks are empty (black)'] },
  ]);
  const md = tableToMarkdown(table);
  assert.match(md, /\| grid \| 95\.0 \| 97\.0 \| 93\.0 \| n\/a \| n\/a \| n\/a \| n\/a \| n\/a \|/);
  assert.match(md, /\| \*\*mean\*\* \| \*\*97\.5\*\* \| \*\*98\.5\*\* \| \*\*96\.5\*\* \| \*\*n\/a\*\* \|/);
  assert.match(md, /\n- n\/a — grid: pixel metrics: all 4 defect masks are empty \(black\)\n- n\/a — mean: n\/a where a class has no value/);
  const html = tableToHtml(table);
  assert.match(html, /<li>n\/a — grid: pixel metrics: all 4 defect masks are empty \(black\)<\/li>/);
});
