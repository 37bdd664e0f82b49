// `pmamba metrics` and `pmamba dataset` as a user runs them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeNpy } from '@pmamba/data';
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
