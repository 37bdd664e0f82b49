/**
 * A contact sheet of a built real-texture set, to look at what the detector is asked to find:
 * one row per class — a train tile, a good test tile, then each defect kind's tile followed by
 * the same tile with its mask outlined in magenta.
 *
 *   npx tsx bench/real-textures/contact-sheet.ts --data DIR --out sheet.png [--index 0] [--zoom 2]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import { MANIFEST } from './build.ts';
import { REAL_DEFECT_KINDS } from './defects.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string' },
    index: { type: 'string', default: '0' },
    zoom: { type: 'string', default: '2' },
  },
});
if (!values.data || !values.out) {
  console.error('usage: contact-sheet.ts --data DIR --out sheet.png [--index 0] [--zoom 2]');
  process.exit(1);
}
const root = values.data;
const zoom = Number(values.zoom);
const name = `${String(Number(values.index)).padStart(3, '0')}`;
const manifest = JSON.parse(await readFile(join(root, MANIFEST), 'utf8')) as { arguments: { size: number }; classes: { name: string }[] };
const size = manifest.arguments.size;
const cell = size * zoom;
const gap = 4;

async function rgb(path: string): Promise<Buffer> {
  return sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer();
}

/** The tile with the mask's boundary pixels (mask pixels with an outside 4-neighbour) in magenta. */
async function outlined(image: string, maskPath: string): Promise<Buffer> {
  const px = await rgb(image);
  const mask = await sharp(maskPath).toColourspace('b-w').raw().toBuffer();
  const inside = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < size && y < size && mask[y * size + x] > 127;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!inside(x, y)) continue;
      if (inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1)) continue;
      px.set([255, 0, 255], 3 * (y * size + x));
    }
  }
  return px;
}

const composites: OverlayOptions[] = [];
const place = async (raw: Buffer, col: number, row: number): Promise<void> => {
  const input = await sharp(raw, { raw: { width: size, height: size, channels: 3 } }).resize(cell, cell, { kernel: 'nearest' }).png().toBuffer();
  composites.push({ input, left: col * (cell + gap), top: row * (cell + gap) });
};
const classes = manifest.classes.map((c) => c.name);
for (const [row, cls] of classes.entries()) {
  const dir = join(root, cls);
  await place(await rgb(join(dir, 'train', 'good', `${name}.png`)), 0, row);
  await place(await rgb(join(dir, 'test', 'good', `${name}.png`)), 1, row);
  for (const [k, kind] of REAL_DEFECT_KINDS.entries()) {
    const image = join(dir, 'test', kind, `${name}.png`);
    await place(await rgb(image), 2 + 2 * k, row);
    await place(await outlined(image, join(dir, 'ground_truth', kind, `${name}_mask.png`)), 3 + 2 * k, row);
  }
}
const columns = 2 + 2 * REAL_DEFECT_KINDS.length;
await sharp({ create: { width: columns * (cell + gap) - gap, height: classes.length * (cell + gap) - gap, channels: 3, background: '#202020' } })
  .composite(composites)
  .png()
  .toFile(values.out);
console.log(`${values.out}: rows ${classes.join(', ')}; columns train, good, ${REAL_DEFECT_KINDS.map((k) => `${k}, ${k}+mask`).join(', ')}`);
