import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PyramidMamba, exportTeacherWeights, presetConfig, useBackend } from '@pmamba/model';
import { layout, parseRunConfig, type RunConfig } from '@pmamba/protocol';
import { openStore, sha256, type ArtifactStore } from '@pmamba/store';
import { CoordinatorError } from '../src/errors.ts';
import { planRun } from '../src/plan.ts';

let dir: string;
let store: ArtifactStore;
let resnet18: string;

/** A tiny run whose teacher is self-made unless `model.teacher` says otherwise. */
function config(model: { teacher?: object; [k: string]: unknown } = {}, dataRoot = join(dir, 'data')): RunConfig {
  return parseRunConfig({
    dataset: { root: dataRoot, imageSize: 32, synthetic: { classes: 2, size: 32, train: 4, test: 4, seed: 1 } },
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] }, ...model, teacher: { init: 'self-supervised', ...model.teacher } },
    training: { rounds: 1, localSteps: 1, workers: 1, seed: 3 },
  });
}

const fingerprint = async (c: RunConfig) => {
  const t = (await planRun(c, { runId: 'fp' })).spec.teacher;
  assert.equal(t?.source, 'self-supervised');
  return t.source === 'self-supervised' ? t.fingerprint : '';
};

before(async () => {
  await useBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'pmamba-teacher-'));
  store = await openStore(`file://${join(dir, 'store')}`);
  // A resnet18 teacher file as torchvision names it (pmamba writes its teachers that way).
  const model = new PyramidMamba(presetConfig('small'), 9);
  resnet18 = join(dir, 'resnet18.safetensors');
  await writeFile(resnet18, exportTeacherWeights(model));
  model.dispose();
});
after(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a run's teacher, resolved at planning", () => {
  it('names a self-made teacher by the bytes of its images and the settings that shape it', async () => {
    const base = await fingerprint(config());
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(await fingerprint(config()), base, 'the same images and settings: the same teacher');
    assert.equal(await fingerprint(config({ noiseStd: 0.1, pyramid: { mode: 'levels', levels: [1, 1, 1, 1] } })), base, 'student settings do not touch the teacher (sweep variants share it)');
    assert.notEqual(await fingerprint(config({ teacher: { pretrain: { steps: 7 } } })), base);
    assert.notEqual(await fingerprint(config({ teacher: { stem: 'random' } })), base, 'the stem it starts from shapes the teacher');
    // A copy of the data set with one training image's pixels changed.
    const copy = join(dir, 'copy');
    await planRun(config({}, copy), { runId: 'copy' });
    assert.equal(await fingerprint(config({}, copy)), base, 'where the images live does not matter, what they hold does');
    await copyFile(join(copy, 'disc', 'train', 'good', '000.png'), join(copy, 'disc', 'train', 'good', '001.png'));
    assert.notEqual(await fingerprint(config({}, copy)), base);
  });

  it('copies a pretrained file into the store by its sha256 and keeps its BatchNorm statistics', async () => {
    const record = await planRun(config({ teacher: { weights: resnet18 } }), { runId: 'w', store });
    const digest = sha256(await readFile(resnet18));
    assert.deepEqual(record.spec.teacher, {
      source: 'weights',
      from: resnet18,
      file: { key: layout.teacherFileKey(digest, 'safetensors'), sha256: digest, size: (await readFile(resnet18)).length },
      batchNorm: 'keep',
    });
    assert.equal((await store.head(layout.teacherFileKey(digest, 'safetensors')))?.sha256, digest);
  });

  it('refuses weights for another encoder, an unreadable file and a missing store before any job', async () => {
    const fails = (c: RunConfig, opts: object, pattern: RegExp) =>
      assert.rejects(planRun(c, { runId: 'bad', store, ...opts }), (e: CoordinatorError) => {
        assert.equal(e.code, 'E_CONFIG');
        assert.match(e.message, pattern);
        return true;
      });
    await fails(config({ encoder: 'resnet34', teacher: { weights: resnet18 } }), {}, /holds resnet18 weights but the model's encoder is resnet34: set model.encoder: resnet18/);
    const junk = join(dir, 'junk.pth');
    await writeFile(junk, 'PK\u0003\u0004 not really a zip');
    await fails(config({ teacher: { weights: junk } }), {}, /junk\.pth/);
    await fails(config({ teacher: { weights: join(dir, 'missing.pth') } }), {}, /cannot read .*missing\.pth/);
    await fails(config({ teacher: { weights: resnet18 } }), { store: undefined }, /needs the artifact store/);
    await fails(config({ teacher: { weights: resnet18, sha256: 'f'.repeat(64) } }), {}, /model\.teacher\.sha256 pins f{64}/);
  });
});
