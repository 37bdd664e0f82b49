// `pmamba metrics` and `pmamba dataset` as a user runs them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { writeNpy, writePng } from '@pmamba/data';
import { METRIC_NAMES } from '@pmamba/protocol';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const pmamba = (...args: string[]) => run(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
let dir: string;

before(() => { dir = mkdtempSync(join(tmpdir(), 'pmamba-cli-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

test('pmamba metrics --json reproduces the reference metrics of a committed case', async () => {
  const fixture = JSON.parse(readFileSync(join(ROOT, 'packages/metrics/test/fixtures/reference-metrics.json'), 'utf8'));
  const c = fixture.cases.find((x: { name: string }) => x.name === 'ties');
  const maps = new Float32Array(Buffer.from(c.maps_f32le_base64, 'base64').buffer.slice(0));
  const masks = new Uint8Array(Buffer.from(c.masks_u8_base64, 'base64'));
  const n = c.scores.length;
  const hw = maps.length / n;
  const side = Math.sqrt(hw);
  writeNpy(join(dir, 's.npy'), Float32Array.from(c.scores), [n]);
  writeNpy(join(dir, 'l.npy'), Uint8Array.from(c.labels), [n]);
  writeNpy(join(dir, 'm.npy'), maps, [n, side, side]);
  writeNpy(join(dir, 'k.npy'), masks, [n, side, side]);
  const { stdout } = await pmamba('metrics', '--scores', join(dir, 's.npy'), '--labels', join(dir, 'l.npy'), '--maps', join(dir, 'm.npy'), '--masks', join(dir, 'k.npy'), '--json');
  const got = JSON.parse(stdout);
  for (const k of METRIC_NAMES) {
    assert.ok(Math.abs(got[k] - c.expected[k]) < 1e-5, `${k}: ${got[k]} vs ${c.expected[k]}`);
  }
  await assert.rejects(pmamba('metrics', '--scores', join(dir, 'nope.npy'), '--labels', join(dir, 'l.npy'), '--maps', join(dir, 'm.npy'), '--masks', join(dir, 'k.npy')),
    (e: { stderr: string }) => /nope\.npy/.test(e.stderr));
});

test('pmamba metrics refuses 6 scores and labels against 5 maps and masks, naming every count', async () => {
  const side = 4;
  const maps = new Float32Array(5 * side * side).map((_, i) => i % 7);
  const masks = new Uint8Array(5 * side * side).map((_, i) => (i % 5 === 0 ? 1 : 0));
  writeNpy(join(dir, 's6.npy'), Float32Array.from([0.1, 0.9, 0.2, 0.8, 0.3, 0.7]), [6]);
  writeNpy(join(dir, 'l6.npy'), Uint8Array.from([0, 1, 0, 1, 0, 1]), [6]);
  writeNpy(join(dir, 'm5.npy'), maps, [5, side, side]);
  writeNpy(join(dir, 'k5.npy'), masks, [5, side, side]);
  await assert.rejects(
    pmamba('metrics', '--scores', join(dir, 's6.npy'), '--labels', join(dir, 'l6.npy'), '--maps', join(dir, 'm5.npy'), '--masks', join(dir, 'k5.npy')),
    (e: { code: number; stdout: string; stderr: string }) => {
      assert.notEqual(e.code, 0);
      assert.equal(e.stdout, '', 'no table is printed');
      assert.match(e.stderr, /image counts disagree: \S*s6\.npy has 6 scores, \S*l6\.npy has 6 labels, \S*m5\.npy has 5 maps, \S*k5\.npy has 5 masks; .* \[E_SHAPE\]/);
      return true;
    },
  );
});

test('pmamba dataset synth writes an MVTec layout that dataset inspect reads back', async () => {
  const out = join(dir, 'synth');
  await pmamba('dataset', 'synth', '--out', out, '--classes', '2', '--size', '64', '--train', '3', '--test', '4', '--seed', '5');
  const classes = readdirSync(out).filter((n) => !n.endsWith('.json')).sort();
  assert.equal(classes.length, 2);
  const { stdout } = await pmamba('dataset', 'inspect', out, '--json');
  const summary = JSON.parse(stdout);
  const text = JSON.stringify(summary);
  for (const c of classes) assert.match(text, new RegExp(c));
  assert.match(text, /"format":"mvtec"/);
});

/** A grey 16×16 PNG of one value (0 makes a black mask). */
async function greyPng(path: string, value: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writePng(path, { data: new Uint8Array(16 * 16).fill(value), width: 16, height: 16, channels: 1 });
}

/** An MVTec-layout class: 2 train, 1 normal and 2 defect test images, masks of `maskValue`. */
async function mvtecClass(root: string, name: string, maskValue: number): Promise<void> {
  for (const f of ['train/good/000.png', 'train/good/001.png', 'test/good/000.png', 'test/crack/000.png', 'test/crack/001.png']) {
    await greyPng(join(root, name, f), 120);
  }
  for (const f of ['000_mask.png', '001_mask.png']) await greyPng(join(root, name, 'ground_truth/crack', f), maskValue);
}

/** Runs the CLI expecting it to fail; returns its exit code and output. */
async function pmambaFails(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await pmamba(...args);
  } catch (e) {
    return e as { code: number; stdout: string; stderr: string };
  }
  assert.fail(`pmamba ${args.join(' ')} exited 0`);
}

test('pmamba dataset inspect finds a text file named .png without --verify; --policy fail exits 1, skip 0', async () => {
  const root = join(dir, 'text-png');
  await mvtecClass(root, 'nut', 255);
  writeFileSync(join(root, 'nut/train/good/002.png'), 'not an image\n');
  const skip = await pmamba('dataset', 'inspect', root);
  assert.match(skip.stdout, /\[E_IMAGE_UNREADABLE\] .*002\.png: not a supported image \(PNG, JPEG, BMP, TIFF, WebP\)/);
  const fail = await pmambaFails('dataset', 'inspect', root, '--policy', 'fail');
  assert.equal(fail.code, 1);
  assert.match(fail.stdout, /\[E_IMAGE_UNREADABLE\] .*002\.png/);
  assert.match(fail.stderr, /found 1 problem\(s\) under --policy fail \(E_IMAGE_UNREADABLE ×1/);
});

test('pmamba dataset inspect --verify reports all-black defect masks; with --policy fail it exits 1', async () => {
  const root = join(dir, 'black-masks');
  await mvtecClass(root, 'ok', 255);
  await mvtecClass(root, 'dark', 0);
  const clean = await pmamba('dataset', 'inspect', join(dir, 'black-masks'), '--policy', 'fail');
  assert.match(clean.stdout, /no problems found/); // masks are only decoded with --verify
  const { stdout } = await pmamba('dataset', 'inspect', root, '--verify');
  assert.match(stdout, /\[E_MASKS_EMPTY\] class 'dark': all 2 defect masks are empty \(black\): pixel metrics \(P-AUROC, P-AP, P-F1max, AU-PRO\) will be n\/a for it/);
  assert.doesNotMatch(stdout, /class 'ok'/);
  const fail = await pmambaFails('dataset', 'inspect', root, '--verify', '--policy', 'fail', '--json');
  assert.equal(fail.code, 1);
  assert.deepEqual(JSON.parse(fail.stdout).problems.map((p: { code: string }) => p.code), ['E_MASKS_EMPTY']);
  assert.match(fail.stderr, /E_MASKS_EMPTY ×1; listed in the JSON report/);
});

test('pmamba train refuses a --report folder under a file at once, before Redis, workers or planning', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const config = join(dir, 'report-check.yaml');
  writeFileSync(config, 'dataset: { root: ./nowhere, imageSize: 64 }\nmodel: { preset: small }\ntraining: { rounds: 1, localSteps: 1 }\n');
  const started = Date.now();
  const r = await pmambaFails('train', '-c', config, '--report', join(file, 'report'), '--store', `file://${join(dir, 'store')}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--report .*a-file\/report: cannot write a report there .* \[E_BAD_OPTION\]/);
  assert.doesNotMatch(r.stderr, /redis-server|worker|planned/);
  assert.ok(Date.now() - started < 20_000);
});
