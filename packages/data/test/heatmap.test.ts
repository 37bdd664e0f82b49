import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeHeatmapOverlay } from '@pmamba/data';
import { colormapRgb, heatmapOverlay } from '../src/heatmap.ts';
import { decodeImage } from '../src/image.ts';
import { tempDir, writeSolid } from './support/helpers.ts';

test('jet runs dark blue → cyan → yellow → dark red; turbo starts dark and ends dark red', () => {
  assert.deepEqual(colormapRgb(0, 'jet'), [0, 0, 128]);
  assert.deepEqual(colormapRgb(0.5, 'jet'), [128, 255, 128]);
  assert.deepEqual(colormapRgb(1, 'jet'), [128, 0, 0]);
  assert.deepEqual(colormapRgb(-3, 'jet'), colormapRgb(0, 'jet'));
  assert.deepEqual(colormapRgb(0, 'turbo'), [48, 18, 59]);
  assert.deepEqual(colormapRgb(1, 'turbo'), [122, 4, 3]);
});

test('overlay blends the coloured map over the image at the map size, with a fixed or min-max range', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const src = join(dir, 'grey.png');
    await writeSolid(src, 8, 4, [100, 100, 100]);
    // A 4×4 map: left half 0, right half 1.
    const map = new Float32Array(16).map((_, i) => (i % 4 < 2 ? 0 : 1));
    const o = await heatmapOverlay(src, map, { alpha: 0.5 });
    assert.equal(o.width, 4);
    assert.deepEqual(Array.from(o.data.subarray(0, 3)), [50, 50, 114]); // (100 + jet(0)) / 2
    assert.deepEqual(Array.from(o.data.subarray(9, 12)), [114, 50, 50]); // (100 + jet(1)) / 2
    // A wide fixed range puts both halves low on the scale.
    const fixed = await heatmapOverlay(src, { data: map, width: 4, height: 4 }, { alpha: 1, range: [0, 4] });
    assert.deepEqual(Array.from(fixed.data.subarray(9, 12)), colormapRgb(Math.round(0.25 * 255) / 255, 'jet'));
    const out = join(dir, 'heat.png');
    await writeHeatmapOverlay(out, { data: new Uint8Array(48).fill(200), width: 4, height: 4, channels: 3 }, map, { colormap: 'turbo' });
    const back = await decodeImage(out);
    assert.deepEqual([back.width, back.height, back.channels], [4, 4, 3]);
    await assert.rejects(heatmapOverlay(src, new Float32Array(15)), /bare map must be square/);
    // A non-square map: the image is stretched to it.
    const wide = await heatmapOverlay(src, { data: new Float32Array(18), width: 6, height: 3 }, { alpha: 0 });
    assert.deepEqual([wide.width, wide.height], [6, 3]);
    assert.deepEqual(Array.from(wide.data.subarray(0, 3)), [100, 100, 100]);
  } finally {
    await cleanup();
  }
});
