import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataset, readMvtec } from '@pmamba/data';
import { DatasetLayoutError } from '../src/errors.ts';
import { detectFormat } from '../src/discover.ts';
import { readBtad } from '../src/btad.ts';
import { readFolder } from '../src/folder.ts';
import { readMvtecAd2 } from '../src/mvtec-ad2.ts';
import { readVisa } from '../src/visa.ts';
import type { DataWarning, DatasetIndex } from '@pmamba/data';
import { tempDir, writeMask, writeSolid } from './support/helpers.ts';

const S = 8;
const img = (p: string): Promise<void> => writeSolid(p, S, S, [90, 120, 150]);
const counts = (ix: DatasetIndex): Record<string, [number, number, number]> =>
  Object.fromEntries(ix.classes.map((c) => [c.name, [c.train.length, c.test.filter((s) => s.label === 0).length, c.test.filter((s) => s.label === 1).length]]));

async function mvtecTree(root: string): Promise<void> {
  for (const cls of ['bottle', 'grid']) {
    for (const n of ['000', '001', '002']) await img(join(root, cls, 'train', 'good', `${n}.png`));
    await img(join(root, cls, 'test', 'good', '000.png'));
    for (const defect of ['broken', 'crack']) {
      for (const n of ['000', '001']) {
        await img(join(root, cls, 'test', defect, `${n}.png`));
        await writeMask(join(root, cls, 'ground_truth', defect, `${n}_mask.png`), S, S, [1, 1, 3, 3]);
      }
    }
  }
  await writeFile(join(root, 'license.txt'), 'not a class');
}

test('MVTec AD: classes, splits, defect types and mask pairing', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await mvtecTree(dir);
    const ix = await readMvtec(dir);
    assert.equal(ix.format, 'mvtec');
    assert.deepEqual(counts(ix), { bottle: [3, 1, 4], grid: [3, 1, 4] });
    const bad = ix.classes[0].test.find((s) => s.defect === 'crack')!;
    assert.equal(bad.id, 'bottle/test/crack/000.png');
    assert.equal(bad.mask, join(ix.root, 'bottle', 'ground_truth', 'crack', '000_mask.png'));
    assert.equal(bad.label, 1);
    assert.equal(ix.classes[0].test.find((s) => s.defect === 'good')!.mask, undefined);
    assert.deepEqual(counts(await readMvtec(dir, { classes: ['grid'] })), { grid: [3, 1, 4] });
    await assert.rejects(readMvtec(dir, { classes: ['nope'] }), /no class named nope/);
    assert.equal(await detectFormat(dir), 'mvtec');
  } finally {
    await cleanup();
  }
});

test('a missing mask fails, or is skipped with a warning naming the image, leaving the rest intact', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await mvtecTree(dir);
    await rm(join(dir, 'grid', 'ground_truth', 'crack', '001_mask.png'));
    await assert.rejects(readMvtec(dir), (e: unknown) => e instanceof DatasetLayoutError && e.code === 'E_MASK_MISSING' && e.path === join(dir, 'grid', 'test', 'crack', '001.png') && /expected .*001_mask\.png/.test(e.message));
    const seen: DataWarning[] = [];
    const ix = await readMvtec(dir, { policy: 'skip', onWarning: (w) => seen.push(w) });
    assert.deepEqual(counts(ix), { bottle: [3, 1, 4], grid: [3, 1, 3] });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].code, 'E_MASK_MISSING');
    assert.deepEqual(ix.warnings, seen);
  } finally {
    await cleanup();
  }
});

test('an empty class fails, or is dropped under skip', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await mvtecTree(dir);
    await mkdir(join(dir, 'empty', 'train', 'good'), { recursive: true });
    await assert.rejects(readMvtec(dir), (e: unknown) => e instanceof DatasetLayoutError && e.code === 'E_CLASS_EMPTY' && /class 'empty' has no training images/.test(e.message));
    const ix = await readMvtec(dir, { policy: 'skip', onWarning: () => undefined });
    assert.deepEqual(ix.classes.map((c) => c.name), ['bottle', 'grid']);
  } finally {
    await cleanup();
  }
});

test('symlinks inside the root are followed; one escaping the root is refused or skipped', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const root = join(dir, 'data');
    await mvtecTree(root);
    await symlink(join(root, 'bottle', 'train', 'good', '000.png'), join(root, 'bottle', 'train', 'good', '010.png'));
    const outside = join(dir, 'outside.png');
    await img(outside);
    await symlink(outside, join(root, 'grid', 'train', 'good', '011.png'));
    await assert.rejects(readMvtec(root), (e: unknown) => e instanceof DatasetLayoutError && e.code === 'E_PATH_ESCAPE' && /011\.png: resolves to .*outside\.png, outside the dataset root/.test(e.message));
    const ix = await readMvtec(root, { policy: 'skip', onWarning: () => undefined });
    assert.deepEqual(counts(ix), { bottle: [4, 1, 4], grid: [3, 1, 4] });
    assert.equal(ix.classes[0].train[3].id, 'bottle/train/good/010.png');
    assert.equal(ix.warnings[0].code, 'E_PATH_ESCAPE');
    // A root that is itself a symlink is fine.
    await symlink(root, join(dir, 'link'));
    const viaLink = await readMvtec(join(dir, 'link'), { policy: 'skip', onWarning: () => undefined });
    assert.equal(viaLink.root, root);
  } finally {
    await cleanup();
  }
});

test('VisA: the 1cls split CSV drives splits and labels; masks binarise at non-zero', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const rows = ['object,split,label,image,mask'];
    for (const obj of ['candle', 'pcb1']) {
      for (const n of ['0000', '0001', '0002']) {
        await img(join(dir, obj, 'Data', 'Images', 'Normal', `${n}.JPG`));
        rows.push(`${obj},train,normal,${obj}/Data/Images/Normal/${n}.JPG,`);
      }
      await img(join(dir, obj, 'Data', 'Images', 'Normal', '0100.JPG'));
      rows.push(`${obj},test,normal,${obj}/Data/Images/Normal/0100.JPG,`);
      await img(join(dir, obj, 'Data', 'Images', 'Anomaly', '000.JPG'));
      await writeMask(join(dir, obj, 'Data', 'Masks', 'Anomaly', '000.png'), S, S, [0, 0, 2, 2]);
      rows.push(`${obj},test,anomaly,${obj}/Data/Images/Anomaly/000.JPG,${obj}/Data/Masks/Anomaly/000.png`);
    }
    await mkdir(join(dir, 'split_csv'));
    await writeFile(join(dir, 'split_csv', '1cls.csv'), rows.join('\r\n') + '\r\n');
    assert.equal(await detectFormat(dir), 'visa');
    const ix = await readVisa(dir);
    assert.deepEqual(counts(ix), { candle: [3, 1, 1], pcb1: [3, 1, 1] });
    const a = ix.classes[1].test.find((s) => s.label === 1)!;
    assert.equal(a.maskThreshold, 'nonzero');
    assert.equal(a.id, 'pcb1/Data/Images/Anomaly/000.JPG');

    // A row naming a missing file, and a malformed row.
    await writeFile(join(dir, 'split_csv', '1cls.csv'), [...rows, 'candle,train,normal,candle/Data/Images/Normal/9999.JPG,', 'candle,train,weird,x.JPG,'].join('\n'));
    await assert.rejects(readVisa(dir), (e: unknown) => e instanceof DatasetLayoutError && e.code === 'E_SPLIT_CSV' && /1cls\.csv:12: image .*9999\.JPG does not exist/.test(e.message));
    const seen: DataWarning[] = [];
    const skipped = await readVisa(dir, { policy: 'skip', onWarning: (w) => seen.push(w) });
    assert.deepEqual(counts(skipped), { candle: [3, 1, 1], pcb1: [3, 1, 1] });
    assert.equal(seen.length, 2);
    assert.match(seen[1].message, /1cls\.csv:13: malformed row/);
  } finally {
    await cleanup();
  }
});

test('MVTec AD 2: train, validation and public test with masks; private tests are not indexed', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const c = join(dir, 'vial');
    for (const n of ['000', '001']) await img(join(c, 'train', 'good', `${n}_regular.png`));
    await img(join(c, 'validation', 'good', '000_regular.png'));
    await img(join(c, 'test_public', 'good', '000_regular.png'));
    await img(join(c, 'test_public', 'bad', '000_overexposed.png'));
    await writeMask(join(c, 'test_public', 'ground_truth', 'bad', '000_overexposed_mask.png'), S, S, [0, 0, 1, 1]);
    await img(join(c, 'test_private', '000_regular.png'));
    assert.equal(await detectFormat(dir), 'mvtec-ad2');
    const ix = await readMvtecAd2(dir);
    const v = ix.classes[0];
    assert.deepEqual([v.train.length, v.validation.length, v.test.length], [2, 1, 2]);
    assert.match(v.test[1].mask!, /000_overexposed_mask\.png$/);
  } finally {
    await cleanup();
  }
});

test('BTAD: ok/ko folders, BMP images with same-stem PNG masks', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const c = join(dir, '01');
    for (const n of ['0000', '0001']) await img(join(c, 'train', 'ok', `${n}.bmp`));
    await img(join(c, 'test', 'ok', '0000.bmp'));
    await img(join(c, 'test', 'ko', '0000.bmp'));
    await writeMask(join(c, 'ground_truth', 'ko', '0000.png'), S, S, [0, 0, 4, 4]);
    assert.equal(await detectFormat(dir), 'btad');
    const ix = await readBtad(dir);
    assert.deepEqual(counts(ix), { '01': [2, 1, 1] });
    const ko = ix.classes[0].test.find((s) => s.label === 1)!;
    assert.equal(ko.defect, 'ko');
    assert.match(ko.mask!, /ground_truth\/ko\/0000\.png$/);
  } finally {
    await cleanup();
  }
});

test('plain folders: one class or many; masks optional; normal hold-out is seeded', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const one = join(dir, 'widgets');
    for (let i = 0; i < 10; i++) await img(join(one, 'good', `${i}.png`));
    for (const d of ['dent', 'stain']) {
      await img(join(one, d, 'a.png'));
      await writeMask(join(one, 'masks', d, 'a_mask.png'), S, S, [0, 0, 2, 2]);
    }
    assert.equal(await detectFormat(one), 'folder');
    const ix = await readFolder(one);
    assert.deepEqual(counts(ix), { widgets: [8, 2, 2] });
    assert.equal(ix.classes[0].pixelLabels, true);
    const again = await readFolder(one);
    assert.deepEqual(again.classes[0].test.map((s) => s.id), ix.classes[0].test.map((s) => s.id));
    const otherSeed = await readFolder(one, { seed: 5, normalTestRatio: 0.5 });
    assert.deepEqual(counts(otherSeed), { widgets: [5, 5, 2] });

    // Without a mask folder: image-level labels only.
    await rm(join(one, 'masks'), { recursive: true });
    const noMasks = await readFolder(one);
    assert.equal(noMasks.classes[0].pixelLabels, false);
    assert.equal(noMasks.classes[0].test.filter((s) => s.label === 1 && !s.mask).length, 2);

    // A folder of class folders, options passed through openDataset.
    await img(join(dir, 'gears', 'ok', '0.png'));
    await img(join(dir, 'gears', 'ok', '1.png'));
    await img(join(dir, 'gears', 'nok', '0.png'));
    const many = await openDataset(dir, { format: 'folder', normalDir: 'ok', abnormalDirs: ['nok'], normalTestRatio: 0.5 });
    assert.deepEqual(counts(many), { gears: [1, 1, 1] });
  } finally {
    await cleanup();
  }
});

test('an unknown layout is an E_LAYOUT error that says what was looked for', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await img(join(dir, 'x', 'y.png'));
    await assert.rejects(detectFormat(dir), (e: unknown) => e instanceof DatasetLayoutError && e.code === 'E_LAYOUT' && /cannot tell the dataset layout .*train\/good/.test(e.message));
    await assert.rejects(openDataset(join(dir, 'missing')), /dataset root does not exist/);
  } finally {
    await cleanup();
  }
});
