import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SYNTH_CLASSES, inspectDataset, loadMask, readMvtec, synthesize } from '@pmamba/data';
import { DEFECT_KINDS } from '../src/synth/defects.ts';
import { renderSynthImage } from '../src/synth/generate.ts';
import type { RawImage } from '@pmamba/data';
import { tempDir } from './support/helpers.ts';

async function files(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), await readFile(p));
    }
  };
  await walk(root);
  return out;
}

test('synthesize writes an MVTec-layout set that our reader reads, the same bytes for the same arguments', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const args = { classes: 2, size: 48, train: 4, test: 7, seed: 3 };
    const a = await synthesize({ out: join(dir, 'a'), ...args });
    await synthesize({ out: join(dir, 'b'), ...args });
    assert.deepEqual(a, { root: join(dir, 'a'), classes: ['carpet', 'disc'], images: 22, masks: 8 });
    const fa = await files(join(dir, 'a'));
    const fb = await files(join(dir, 'b'));
    assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
    for (const [k, v] of fa) assert.ok(v.equals(fb.get(k)!), `${k} differs between runs`);

    const ix = await readMvtec(join(dir, 'a'));
    const report = await inspectDataset(ix, { verify: true });
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.totals, { classes: 2, train: 8, validation: 0, testGood: 6, testAnomalous: 8 });
    // 7 test images: 3 normal, 4 defects cycling through the types (offset per class).
    assert.deepEqual(report.classes[0].defects, { scratch: 1, spot: 1, crack: 1, missing: 1 });
    assert.deepEqual(report.classes[1].defects, { spot: 1, crack: 1, missing: 1, contamination: 1 });

    // A different seed changes the images; asking for more keeps the existing ones (and the
    // folder of an earlier synthetic set is replaced in place).
    await synthesize({ out: join(dir, 'a'), ...args, train: 5 });
    const more = await files(join(dir, 'a'));
    assert.ok(more.get('carpet/train/good/003.png')!.equals(fa.get('carpet/train/good/003.png')!));
    assert.ok(more.has('carpet/train/good/004.png'));
    await synthesize({ out: join(dir, 'c'), ...args, seed: 4 });
    assert.ok(!(await readFile(join(dir, 'c', 'carpet/train/good/000.png'))).equals(fa.get('carpet/train/good/000.png')!));
    await assert.rejects(synthesize({ out: join(dir, 'd'), classes: 99 }), /--classes must be 1\.\.8/);
  } finally {
    await cleanup();
  }
});

test('masks are exact and small: only masked pixels differ from the defect-free twin', () => {
  const size = 96;
  for (const spec of SYNTH_CLASSES) {
    for (const [k, defect] of DEFECT_KINDS.entries()) {
      const r = renderSynthImage(spec.name, 'test', defect, k, size, 11, { clean: true });
      const mask = r.mask!;
      const clean = r.clean!;
      const ch = r.image.channels;
      let area = 0;
      let differing = 0;
      for (let i = 0; i < size * size; i++) {
        let diff = 0;
        for (let c = 0; c < ch; c++) diff = Math.max(diff, Math.abs(r.image.data[i * ch + c] - clean.data[i * ch + c]));
        if (mask[i]) {
          area++;
          if (diff > 0) differing++;
        } else {
          assert.equal(diff, 0, `${spec.name}/${defect}: pixel ${i} changed outside the mask`);
        }
      }
      assert.ok(area >= 4, `${spec.name}/${defect}: mask has ${area} pixels`);
      assert.ok(area <= 0.02 * size * size, `${spec.name}/${defect}: mask covers ${((100 * area) / size / size).toFixed(2)}% of the image`);
      // Clipping at 0/255 may hide a masked change in a handful of pixels, never more.
      assert.ok(differing >= 0.95 * area, `${spec.name}/${defect}: only ${differing}/${area} masked pixels differ`);
    }
  }
});

test('mask files round-trip through loadMask unchanged at the native size', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await synthesize({ out: dir, classes: ['nut'], size: 64, train: 1, test: 2, seed: 5 });
    const r = renderSynthImage('nut', 'test', 'scratch', 0, 64, 5);
    const fromFile = await loadMask(join(dir, 'nut', 'ground_truth', 'scratch', '000_mask.png'), { size: 64 });
    assert.deepEqual(Array.from(fromFile), Array.from(r.mask!));
  } finally {
    await cleanup();
  }
});

function meanStd(img: RawImage): number[] {
  const ch = img.channels;
  const n = img.width * img.height;
  const out: number[] = [];
  for (let c = 0; c < 3; c++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = img.data[i * ch + (ch === 3 ? c : 0)] / 255;
      s += v;
      s2 += v * v;
    }
    out.push(s / n, Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2)));
  }
  return out;
}

test('classes look different from each other; images of one class vary', () => {
  const stats = SYNTH_CLASSES.map((c) => [0, 1, 2].map((i) => meanStd(renderSynthImage(c.name, 'train', 'good', i, 64, 0).image)));
  const avg = stats.map((s) => s[0].map((_, k) => (s[0][k] + s[1][k] + s[2][k]) / 3));
  for (let a = 0; a < avg.length; a++) {
    for (let b = a + 1; b < avg.length; b++) {
      const d = Math.hypot(...avg[a].map((v, k) => v - avg[b][k]));
      assert.ok(d > 0.05, `${SYNTH_CLASSES[a].name} vs ${SYNTH_CLASSES[b].name}: colour statistics too close (${d.toFixed(3)})`);
    }
  }
  for (const c of SYNTH_CLASSES) {
    const x = renderSynthImage(c.name, 'train', 'good', 0, 64, 0).image.data;
    const y = renderSynthImage(c.name, 'train', 'good', 1, 64, 0).image.data;
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff += Math.abs(x[i] - y[i]);
    assert.ok(diff / x.length > 2, `${c.name}: two normal images are nearly identical`);
  }
});

// The learnability check: a model of normal local appearance (nearest normal 3×3 patch, what
// reconstruction-based detectors approximate) finds the defects; a model of global image
// statistics does not, because the defects are small.
function patchFeatures(img: RawImage, size: number): Float32Array {
  const g = size / 2;
  const out = new Float32Array(g * g * 27);
  let o = 0;
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const x = Math.min(size - 1, Math.max(0, gx * 2 + dx));
          const y = Math.min(size - 1, Math.max(0, gy * 2 + dy));
          for (let c = 0; c < 3; c++) out[o++] = img.data[(y * size + x) * img.channels + (img.channels === 3 ? c : 0)] / 255;
        }
      }
    }
  }
  return out;
}

function auroc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    for (let j = 0; j < scores.length; j++) {
      if (labels[i] !== 1 || labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test('learnable: a local normal-appearance model scores high image AUROC, a global one does not', () => {
  const size = 64;
  const bankSize = 1500;
  const result: Record<string, [number, number]> = {};
  for (const cls of ['carpet', 'disc', 'grid']) {
    const train = Array.from({ length: 8 }, (_, i) => renderSynthImage(cls, 'train', 'good', i, size, 0).image);
    const feats = train.map((t) => patchFeatures(t, size));
    const per = feats[0].length / 27;
    const bank = new Float32Array(bankSize * 27);
    for (let m = 0; m < bankSize; m++) {
      const k = Math.floor((m * per * feats.length) / bankSize);
      bank.set(feats[Math.floor(k / per)].subarray((k % per) * 27, (k % per) * 27 + 27), m * 27);
    }
    const meanOf = (img: RawImage): number[] => meanStd(img).filter((_, k) => k % 2 === 0);
    const mu = [0, 1, 2].map((c) => train.reduce((a, t) => a + meanOf(t)[c], 0) / train.length);
    const local: number[] = [];
    const global: number[] = [];
    const labels: number[] = [];
    for (let t = 0; t < 20; t++) {
      const defect = t < 10 ? 'good' : DEFECT_KINDS[t % 5];
      const img = renderSynthImage(cls, 'test', defect, t < 10 ? t : Math.floor((t - 10) / 5), size, 0).image;
      const f = patchFeatures(img, size);
      let worst = 0;
      for (let q = 0; q < per; q++) {
        let best = Infinity;
        for (let m = 0; m < bankSize; m++) {
          let s = 0;
          for (let k = 0; k < 27 && s < best; k++) {
            const u = f[q * 27 + k] - bank[m * 27 + k];
            s += u * u;
          }
          if (s < best) best = s;
        }
        if (best > worst) worst = best;
      }
      local.push(worst);
      const m = meanOf(img);
      global.push(Math.hypot(m[0] - mu[0], m[1] - mu[1], m[2] - mu[2]));
      labels.push(defect === 'good' ? 0 : 1);
    }
    result[cls] = [auroc(local, labels), auroc(global, labels)];
  }
  const mean = (k: 0 | 1): number => Object.values(result).reduce((a, r) => a + r[k], 0) / 3;
  assert.ok(mean(0) >= 0.9, `local model mean I-AUROC ${mean(0).toFixed(3)} (${JSON.stringify(result)})`);
  assert.ok(mean(1) <= 0.8, `global model mean I-AUROC ${mean(1).toFixed(3)} (${JSON.stringify(result)})`);
  assert.ok(mean(0) - mean(1) >= 0.2);
});

test('fast: 3 classes × (40 train + 20 test) at 128² in a few seconds', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const t = performance.now();
    const r = await synthesize({ out: dir, classes: 3, size: 128, train: 40, test: 20, seed: 0 });
    const seconds = (performance.now() - t) / 1000;
    assert.equal(r.images, 180);
    // Generous for a shared 2-core machine; about 3 s when idle.
    assert.ok(seconds < 20, `took ${seconds.toFixed(1)} s`);
  } finally {
    await cleanup();
  }
});
