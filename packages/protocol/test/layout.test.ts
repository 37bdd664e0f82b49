// The store layout is a stored contract: runs already in a store resume only while every key
// function returns these very strings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layout } from '../src/index.ts';

const fp = 'f'.repeat(64);
const sha = '0123456789abcdef'.repeat(4);

describe('store layout', () => {
  it('pins every key of a run', () => {
    assert.equal(layout.UNIFIED_MODEL, 'unified');
    assert.equal(layout.runPrefix('paper-1'), 'runs/paper-1/');
    assert.equal(layout.runRecordKey('paper-1'), 'runs/paper-1/run.json');
    assert.equal(layout.initWeightsKey('paper-1'), 'runs/paper-1/init.safetensors');
    assert.equal(layout.runManifestKey('paper-1'), 'runs/paper-1/manifest.json');
  });

  it('pins every key of a round', () => {
    assert.equal(layout.roundPrefix('paper-1', 12), 'runs/paper-1/rounds/12/');
    assert.equal(layout.jobWeightsKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/shard-07.safetensors');
    assert.equal(layout.jobTrainerKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/shard-07.trainer.safetensors');
    assert.equal(layout.jobResultKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/shard-07.json');
    assert.equal(layout.checkpointWeightsKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/checkpoints/shard-07.safetensors');
    assert.equal(layout.checkpointTrainerKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/checkpoints/shard-07.trainer.safetensors');
    assert.equal(layout.checkpointStateKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/checkpoints/shard-07.json');
    assert.equal(layout.checkpointVersionKey(layout.checkpointWeightsKey('paper-1', 3, 'shard-07'), 40), 'runs/paper-1/rounds/3/checkpoints/shard-07.s40.safetensors');
    assert.equal(layout.checkpointVersionKey(layout.checkpointTrainerKey('paper-1', 3, 'shard-07'), 40), 'runs/paper-1/rounds/3/checkpoints/shard-07.trainer.s40.safetensors');
    assert.equal(layout.checkpointFilesPrefix(layout.checkpointStateKey('paper-1', 3, 'shard-07')), 'runs/paper-1/rounds/3/checkpoints/shard-07.');
    assert.equal(layout.mergedWeightsKey('paper-1', 3), 'runs/paper-1/rounds/3/merged/unified.safetensors');
    assert.equal(layout.mergedWeightsKey('paper-1', 3, 'metal_nut'), 'runs/paper-1/rounds/3/merged/metal_nut.safetensors');
    assert.equal(layout.mergedTrainerKey('paper-1', 3, 'cable'), 'runs/paper-1/rounds/3/merged/cable.trainer.safetensors');
    assert.equal(layout.mergedTrainerKey('paper-1', 0), 'runs/paper-1/rounds/0/merged/unified.trainer.safetensors');
    assert.equal(layout.roundManifestKey('paper-1', 0), 'runs/paper-1/rounds/0/merged/unified.manifest.json');
    assert.equal(layout.roundManifestKey('paper-1', 2, 'cable'), 'runs/paper-1/rounds/2/merged/cable.manifest.json');
  });

  it('pins the keys of the final evaluation and of earlier ones', () => {
    assert.equal(layout.evaluationPrefix('paper-1'), 'runs/paper-1/eval/');
    assert.equal(layout.evalMetricsKey('paper-1', 'bottle'), 'runs/paper-1/eval/bottle/metrics.json');
    assert.equal(layout.heatmapsPrefix('paper-1', 'bottle'), 'runs/paper-1/eval/bottle/heatmaps');
    assert.equal(layout.heatmapKey(layout.heatmapsPrefix('paper-1', 'bottle'), '000.png'), 'runs/paper-1/eval/bottle/heatmaps/000.png');
    assert.equal(layout.reportPrefix('paper-1'), 'runs/paper-1/report');
    assert.equal(layout.reportKey('paper-1', 'html'), 'runs/paper-1/report/report.html');
    assert.equal(layout.reportKey('paper-1', 'md'), 'runs/paper-1/report/report.md');

    assert.equal(layout.evaluationPrefix('paper-1', 0), 'runs/paper-1/eval-at/0/');
    assert.equal(layout.evalMetricsKey('paper-1', 'cable', 0), 'runs/paper-1/eval-at/0/cable/metrics.json');
    assert.equal(layout.fittedWeightsKey('paper-1', 'unified'), 'runs/paper-1/eval/unified.safetensors');
    assert.equal(layout.fittedWeightsKey('paper-1', 'cable', 2), 'runs/paper-1/eval-at/2/cable.safetensors');
    assert.equal(layout.evalMetricsKey('paper-1', 'cable', 2), 'runs/paper-1/eval-at/2/cable/metrics.json');
    assert.equal(layout.heatmapsPrefix('paper-1', 'cable', 0), 'runs/paper-1/eval-at/0/cable/heatmaps');
    assert.equal(layout.heatmapKey(layout.heatmapsPrefix('paper-1', 'cable', 2), 'crack_000.png'), 'runs/paper-1/eval-at/2/cable/heatmaps/crack_000.png');
    assert.equal(layout.reportPrefix('paper-1', 0), 'runs/paper-1/eval-at/0/report');
    assert.equal(layout.reportKey('paper-1', 'json', 2), 'runs/paper-1/eval-at/2/report/report.json');
  });

  it('pins the keys of teachers', () => {
    assert.equal(layout.teacherFileKey(sha, 'pth'), `teachers/files/${sha}.pth`);
    assert.equal(layout.teacherFileKey(sha, 'safetensors'), `teachers/files/${sha}.safetensors`);
    assert.equal(layout.pretextTeacherPrefix(fp), `teachers/self-supervised/${fp}/`);
    assert.equal(layout.pretextTeacherKey(fp), `teachers/self-supervised/${fp}/teacher.safetensors`);
    assert.equal(layout.pretextTeacherRecordKey(fp), `teachers/self-supervised/${fp}/teacher.json`);
    assert.equal(layout.pretextCheckpointKey(fp), `teachers/self-supervised/${fp}/checkpoint.safetensors`);
    assert.equal(layout.pretextCheckpointTrainerKey(fp), `teachers/self-supervised/${fp}/checkpoint.trainer.safetensors`);
    assert.equal(layout.pretextCheckpointStateKey(fp), `teachers/self-supervised/${fp}/checkpoint.json`);
  });

  it('rejects ids, rounds and names that would change the path', () => {
    const badIds = ['', '..', 'a/b', 'a.b', '-a', 'a b', 'x'.repeat(129), 'a\0'];
    for (const id of badIds) {
      assert.throws(() => layout.runRecordKey(id), { code: 'E_STORE_KEY' }, `run id ${JSON.stringify(id)}`);
      assert.throws(() => layout.jobWeightsKey('run', 0, id), { code: 'E_STORE_KEY' }, `job id ${JSON.stringify(id)}`);
    }
    for (const r of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => layout.roundPrefix('run', r), { code: 'E_STORE_KEY' });
      assert.throws(() => layout.evalMetricsKey('run', 'bottle', r), { code: 'E_STORE_KEY' });
    }
    for (const name of ['..', '.', 'a/b', 'a\\b', '', '.pmamba-meta.x', 'a\nb', 'x'.repeat(201)]) {
      assert.throws(() => layout.evalMetricsKey('run', name), { code: 'E_STORE_KEY' }, `class ${JSON.stringify(name)}`);
      assert.throws(() => layout.mergedWeightsKey('run', 0, name), { code: 'E_STORE_KEY' }, `model ${JSON.stringify(name)}`);
      assert.throws(() => layout.heatmapKey('runs/run/eval/c/heatmaps', name), { code: 'E_STORE_KEY' }, `file ${JSON.stringify(name)}`);
    }
    for (const prefix of ['', 'runs/run/eval/c/heatmaps/']) assert.throws(() => layout.heatmapKey(prefix, '000.png'), { code: 'E_STORE_KEY' });
    assert.throws(() => layout.reportKey('run', 'pdf' as 'md'), { code: 'E_STORE_KEY' });
    assert.throws(() => layout.teacherFileKey(sha, 'bin' as 'pth'), { code: 'E_STORE_KEY' });
    for (const hex of ['F'.repeat(64), 'f'.repeat(63), '../x']) {
      assert.throws(() => layout.teacherFileKey(hex, 'pth'), { code: 'E_STORE_KEY' });
      assert.throws(() => layout.pretextTeacherKey(hex), { code: 'E_STORE_KEY' });
    }
  });

  it('pins the keys of sweeps, registered models and schedules', () => {
    assert.equal(layout.sweepManifestKey('levels'), 'sweeps/levels/sweep.json');
    assert.equal(layout.sweepReportKey('levels', 'html'), 'sweeps/levels/report/ablation.html');
    assert.equal(layout.sweepRunId('levels', 3, 12), 'levels-v3-s12');
    assert.equal(layout.MODELS_PREFIX, 'models/');
    assert.equal(layout.modelPrefix('tiles'), 'models/tiles/');
    assert.equal(layout.modelVersionsPrefix('tiles'), 'models/tiles/versions/');
    assert.equal(layout.modelVersionRecordKey('tiles', 4), 'models/tiles/versions/4/version.json');
    assert.equal(layout.modelVersionWeightsKey('tiles', 4), 'models/tiles/versions/4/unified.safetensors');
    assert.equal(layout.modelVersionWeightsKey('tiles', 4, 'carpet'), 'models/tiles/versions/4/carpet.safetensors');
    assert.equal(layout.modelVersionRunKey('tiles', 4), 'models/tiles/versions/4/run.json');
    assert.equal(layout.modelVersionReportKey('tiles', 4), 'models/tiles/versions/4/report.json');
    assert.equal(layout.modelChampionKey('tiles'), 'models/tiles/champion.json');
    assert.equal(layout.scheduleKey('nightly'), 'schedules/nightly/schedule.json');
    assert.equal(layout.scheduleFiringKey('nightly', '20261206-030000'), 'schedules/nightly/firings/20261206-030000.json');
    assert.throws(() => layout.modelVersionRecordKey('tiles', 0), { code: 'E_STORE_KEY' });
    assert.throws(() => layout.sweepManifestKey('../x'), { code: 'E_STORE_KEY' });
  });
});
