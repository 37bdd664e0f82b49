/** The run configs shipped in configs/ must load, and say what they claim to. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadRunConfig } from '../src/index.ts';
import { loadSweep } from '../src/load-config.ts';

const configsDir = fileURLToPath(new URL('../../../configs/', import.meta.url));
const config = (name: string) => `${configsDir}${name}`;
/** configs/ also holds files that are not run configs (e.g. reference-results.yaml). */
const RUN_CONFIGS = ['quickstart.yaml', 'mvtec-paper.yaml', 'visa.yaml', 'ablation-pyramid-levels.yaml'];

describe('configs/', () => {
  it('every run config validates', async () => {
    for (const file of RUN_CONFIGS) await loadRunConfig(config(file));
  });

  it('quickstart is a tiny synthetic demo with two workers and a few rounds', async () => {
    const c = await loadRunConfig(config('quickstart.yaml'));
    assert.equal(c.run.id, 'quickstart');
    assert.ok(c.dataset.synthetic, 'generates its data');
    assert.equal(c.dataset.synthetic.classes, 3);
    assert.equal(c.model.preset, 'small');
    assert.equal(c.training.workers, 2);
    assert.ok(c.training.rounds >= 2 && c.training.rounds <= 5, `rounds ${c.training.rounds}`);
    // Sized for the demo's 10-minute budget on a 2-core CPU (see the file's comments).
    assert.equal(c.dataset.imageSize, 64);
    assert.ok(c.training.rounds * c.training.localSteps! * c.training.batchSize <= 800, 'images per job over the run');
    assert.equal(c.training.lr, 0.002);
    assert.equal(c.model.teacher.init, 'random', 'the teacher that measured best on real photographs without pretrained weights');
    assert.equal(c.model.teacher.batchNorm ?? 'calibrate', 'calibrate', 'a random teacher needs calibrated BatchNorm statistics');
    assert.equal(c.store.url, 'file://./artifacts');
    assert.equal(c.redis.url, undefined, 'the CLI provides Redis');
    assert.deepEqual(c.evaluation.reportFormats, ['md', 'csv', 'json', 'html']);
  });

  it('mvtec-paper holds the paper setting', async () => {
    const c = await loadRunConfig(config('mvtec-paper.yaml'));
    assert.equal(c.dataset.format, 'mvtec');
    assert.equal(c.dataset.imageSize, 256);
    assert.equal(c.training.mode, 'unified');
    assert.equal(c.training.batchSize, 16);
    assert.equal(c.training.lr, 0.005);
    assert.deepEqual(c.training.betas, [0.9, 0.999]);
    assert.equal(c.training.weightDecay, 1e-4);
    assert.equal(c.training.gradClip, 5);
    assert.equal(c.training.rounds, 1000);
    assert.equal(c.training.localEpochs, 1);
    assert.deepEqual(c.training.lrMilestones, [800]);
    assert.equal(c.training.lrGamma, 0.1);
    assert.equal(c.model.encoder, 'resnet34');
    assert.deepEqual(c.model.depths, [3, 4, 6, 3]);
    assert.deepEqual(c.model.pyramid, { mode: 'reference', level3Threshold: 64 });
    assert.equal(c.model.noiseStd, 0.05);
    assert.equal(c.evaluation.blurSigma, 4);
    assert.equal(c.evaluation.auProMaxFpr, 0.3);
  });

  it('visa reads the VisA layout', async () => {
    const c = await loadRunConfig(config('visa.yaml'));
    assert.equal(c.dataset.format, 'visa');
  });

  it('the pyramid ablation expands into one run per level setting', async () => {
    const variants = await loadSweep(config('ablation-pyramid-levels.yaml'));
    assert.deepEqual(
      variants.map((v) => v.runId),
      [0, 1, 2, 3, 4].map((i) => `ablation-pyramid-levels-${i}`),
    );
    assert.deepEqual(
      variants.map((v) => v.config.model.pyramid),
      [
        { mode: 'levels', levels: [1, 1, 1, 1] },
        { mode: 'levels', levels: [2, 2, 2, 2] },
        { mode: 'levels', levels: [3, 3, 3, 3] },
        { mode: 'levels', levels: [4, 4, 4, 4] },
        { mode: 'reference', level3Threshold: 64 },
      ],
    );
    for (const v of variants) {
      assert.equal(v.config.sweep, undefined);
      assert.equal(v.config.run.id, v.runId);
      assert.equal(v.config.training.rounds, 1000);
    }
  });
});
