// Every metric against shared/reference/metrics_ref.py (scikit-learn + MVTec AD definition) on
// the committed random cases (ties, tiny and diagonally touching regions, signed zeros, many
// images). Regenerate with: /usr/bin/python3 packages/metrics/test/fixtures/make_fixtures.py
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRIC_NAMES } from '@pmamba/protocol';
import { computeAllMetrics } from '../src/index.ts';
import { auPro } from '../src/au-pro.ts';
import { rankPixels } from '../src/ranking.ts';

interface FixtureCase {
  name: string;
  shape: [number, number, number];
  scores: number[];
  labels: number[];
  maps_f32le_base64: string;
  masks_u8_base64: string;
  expected: Record<string, number> & {
    extra: { p_f1max_ader_grid: number; au_pro_ader_100: number };
    au_pro_by_limit: Record<string, number>;
    au_pro_4_connectivity: number;
  };
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/reference-metrics.json', import.meta.url), 'utf8'),
) as { cases: FixtureCase[] };

function decode(c: FixtureCase): { maps: Float32Array; masks: Uint8Array } {
  const mapBytes = Buffer.from(c.maps_f32le_base64, 'base64');
  const maps = new Float32Array(new Uint8Array(mapBytes).buffer);
  const masks = new Uint8Array(Buffer.from(c.masks_u8_base64, 'base64'));
  return { maps, masks };
}

const TOL = 1e-5;
function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: ${actual} vs reference ${expected}`);
}

test('fixture file holds the promised kinds of cases', () => {
  const names = fixture.cases.map((c) => c.name);
  for (const n of ['ties', 'tiny-regions', 'diagonal-touching', 'many-images-ties', 'negative-and-signed-zero']) {
    assert.ok(names.includes(n), `missing case ${n}`);
  }
});

for (const c of fixture.cases) {
  test(`${c.name}: seven metrics, mAD and evaluator extras match the reference to 1e-5`, () => {
    const { maps, masks } = decode(c);
    const r = computeAllMetrics({ scores: c.scores, labels: c.labels, maps, masks, shape: c.shape }, { ader: true });
    for (const k of METRIC_NAMES) close(r.metrics[k], c.expected[k], `${c.name} ${k}`);
    close(r.extra!.p_f1max_ader_grid, c.expected.extra.p_f1max_ader_grid, `${c.name} p_f1max_ader_grid`);
    close(r.extra!.au_pro_ader_100, c.expected.extra.au_pro_ader_100, `${c.name} au_pro_ader_100`);
  });

  test(`${c.name}: AU-PRO at other FPR limits and with 4-connectivity`, () => {
    const { maps, masks } = decode(c);
    const r8 = rankPixels(maps, masks, c.shape);
    for (const [limit, expected] of Object.entries(c.expected.au_pro_by_limit)) {
      close(auPro(r8, { fprLimit: Number(limit) }), expected, `${c.name} AU-PRO@${limit}`);
    }
    const r4 = rankPixels(maps, masks, c.shape, { connectivity: 4 });
    close(auPro(r4), c.expected.au_pro_4_connectivity, `${c.name} AU-PRO 4-connectivity`);
  });
}
