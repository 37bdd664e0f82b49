// SVG curves and the HTML report: content shown, and nothing shown unescaped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildBenchmarkTable, computeAllMetrics, MetricsError, reportHtml } from '../src/index.ts';
import { curveSvg, rocSvg } from '../src/svg-curve.ts';
import { safeImageUrl } from '../src/html-escape.ts';

function smallRun() {
  const [n, h, w] = [4, 16, 16];
  const maps = new Float32Array(n * h * w).map((_, i) => ((i * 37) % 101) / 101);
  const masks = new Uint8Array(n * h * w);
  for (let i = 0; i < 2; i++) for (let k = 0; k < 12; k++) masks[i * h * w + 40 + k] = 1;
  for (let k = 0; k < masks.length; k++) if (masks[k]) maps[k] += 0.5;
  return computeAllMetrics({ scores: [0.9, 0.8, 0.3, 0.85], labels: [1, 1, 0, 0], maps, masks, shape: [n, h, w] }, { curveBins: 64 });
}

test('curve SVG: one polyline per series in plot coordinates, escaped legend and title', () => {
  const svg = curveSvg({
    title: 'A <b> & "c"',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      { name: '<script>', curve: { x: [0, 0.5, 1], y: [0, 1, 1] } },
      { name: 'two', curve: { x: [0, 1], y: [0, 1] }, color: 'red" onload="x' },
    ],
    width: 146,
    height: 126,
  });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="146" height="126"'));
  // plot area: x from 46 to 134 (146 − 12), y from 26 to 86 (126 − 40)
  assert.ok(svg.includes('points="46,86 90,26 134,26"'));
  assert.ok(svg.includes('<title>A &lt;b&gt; &amp; &quot;c&quot;</title>'));
  assert.ok(svg.includes('&lt;script&gt;') && !svg.includes('<script>'));
  assert.ok(!svg.includes('onload'), 'a colour that is not a colour falls back to the palette');
  assert.equal(svg.match(/<polyline/g)?.length, 2);
  assert.ok(rocSvg([{ name: 'p', curve: { x: [0, 1], y: [0, 1] } }]).includes('stroke-dasharray="4 3"'), 'ROC draws the chance line');
});

test('image addresses: paths are encoded, dangerous schemes refused', () => {
  assert.equal(safeImageUrl('heat maps/a#1.png', 'src'), 'heat%20maps/a%231.png');
  assert.equal(safeImageUrl('https://x.test/a.png?x=1&y=2', 'src'), 'https://x.test/a.png?x=1&amp;y=2');
  assert.ok(safeImageUrl('data:image/png;base64,AAAA', 'src').startsWith('data:image/png;'));
  for (const bad of ['javascript:alert(1)', ' JaVa\tScRiPt:alert(1)', 'data:text/html,<b>', 'vbscript:x', '']) {
    assert.throws(() => safeImageUrl(bad, 'classes[0].heatmaps[0].src'), (e: unknown) => {
      assert.ok(e instanceof MetricsError && e.code === 'E_ARGUMENT');
      assert.match(e.message, /classes\[0\]\.heatmaps\[0\]\.src/);
      return true;
    });
  }
});

test('HTML report: table, per-class row, curves and heatmap links, all escaped', () => {
  const run = smallRun();
  const name = 'screw <"&">';
  const table = buildBenchmarkTable([{ name, metrics: run.metrics }, { name: 'other', metrics: run.metrics }]);
  const html = reportHtml({
    title: '<Run> 1',
    notes: ['model: <x>'],
    table,
    classes: [{ name, curves: run.curves, heatmaps: [{ src: 'maps/screw 001.png', caption: '<001>' }] }],
  });
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.includes("Content-Security-Policy\" content=\"default-src 'none'"));
  assert.ok(html.includes('<title>&lt;Run&gt; 1</title>') && html.includes('<p>model: &lt;x&gt;</p>'));
  assert.ok(html.includes('<h2>screw &lt;&quot;&amp;&quot;&gt;</h2>'));
  assert.equal(html.match(/<svg /g)?.length, 3, 'ROC, PR and PRO for the one class with curves');
  assert.ok(html.includes('<a href="maps/screw%20001.png"><img src="maps/screw%20001.png" alt="&lt;001&gt;"'));
  assert.ok(!/<(script|img src=x|iframe)/i.test(html));
  // the class section holds only that class's row
  const section = html.slice(html.indexOf('<section>'));
  assert.equal(section.match(/<tr class="class">/g)?.length, 1);
  assert.ok(!section.includes('<tr class="mean">'));
  assert.throws(
    () => reportHtml({ title: 't', table, classes: [{ name: 'ghost' }] }),
    /classes\[0\]: class 'ghost' has no row in the table/,
  );
  assert.throws(
    () => reportHtml({ title: 't', table, classes: [{ name: 'other', heatmaps: [{ src: 'javascript:alert(1)' }] }] }),
    /classes\[0\]\.heatmaps\[0\]\.src/,
  );
});
