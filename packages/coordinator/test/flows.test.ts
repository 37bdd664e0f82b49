import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetConfig } from '@pmamba/model/spec';
import { layout, parseJobPayload, parseRunConfig, trainSpecOf, type RunRecord, type Shard } from '@pmamba/protocol';
import { bullIds } from '../src/job-ids.ts';
import { evaluationFlow, evaluationRounds, fitMapFlow, fitMapItems, fittedMapSettings, roundFlow, roundLr, shardJobs } from '../src/flows.ts';

function shards(className: string, n: number, per: number): Shard[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${className}/${i}`,
    className,
    index: i,
    items: Array.from({ length: per }, (_, k) => `${className}/train/good/${i}${k}.png`),
  }));
}

function record(patch: { mode?: 'unified' | 'per-class'; workers?: number; everyRounds?: number; anomalyMap?: 'cosine' | 'residual-gaussian' | 'memory' } = {}): RunRecord {
  const config = parseRunConfig({
    run: { id: 'r1' },
    dataset: { root: '/data' },
    training: { rounds: 4, localSteps: 10, batchSize: 4, lr: 0.01, lrMilestones: [2], lrGamma: 0.5, workers: patch.workers ?? 2, mode: patch.mode ?? 'unified' },
    evaluation: { everyRounds: patch.everyRounds ?? 0, anomalyMap: patch.anomalyMap ?? 'residual-gaussian', memory: { fitImages: 12 } },
  });
  const all = [...shards('bottle', 2, 5), ...shards('cable', 2, 4)];
  const perClass = config.training.mode === 'per-class';
  return {
    kind: 'pmamba.run',
    version: 1,
    runId: 'r1',
    createdAt: '2025-01-01T00:00:00Z',
    config,
    plan: { mode: config.training.mode, classes: ['bottle', 'cable'], models: perClass ? ['bottle', 'cable'] : ['unified'], shards: all, rounds: 4, evaluationData: { fingerprint: 'e'.repeat(64), images: 8 } },
    spec: trainSpecOf(config, {
      model: presetConfig('small'),
      dataset: { root: '/data', format: 'mvtec', classes: ['bottle', 'cable'], badImagePolicy: 'fail' },
      teacher: { source: 'random', batchNorm: 'calibrate', stem: 'gaussian' },
    }),
  };
}

const RUN = { key: 'runs/r1/run.json', sha256: '9'.repeat(64), size: 900 };

describe('run flows', () => {
  it('gives each unified job one shard of every class', () => {
    const jobs = shardJobs(record(), 0);
    assert.deepEqual(jobs.map((j) => j.jobId), ['w0', 'w1']);
    for (const j of jobs) assert.deepEqual(j.shards.map((s) => s.className).sort(), ['bottle', 'cable']);
  });

  it('trains each class model on its own shards in per-class mode', () => {
    const jobs = shardJobs(record({ mode: 'per-class' }), 1);
    assert.deepEqual(jobs.map((j) => j.jobId), ['m1-w0', 'm1-w1']);
    assert.ok(jobs.every((j) => j.shards.every((s) => s.className === 'cable')));
  });

  it('builds a round as an aggregate parent over valid train-shard payloads with deterministic ids', () => {
    const init = { key: 'runs/r1/init.safetensors', sha256: 'a'.repeat(64), size: 10 };
    const flow = roundFlow(record(), RUN, 0, 2, init);
    assert.equal(flow.queueName, 'aggregate');
    assert.equal(flow.opts?.jobId, bullIds.aggregate('r1', 2, 0));
    assert.deepEqual(flow.children?.map((c) => c.opts?.jobId), ['r1.r2.w0', 'r1.r2.w1']);
    const payload = parseJobPayload('train-shard', flow.children![0].data);
    assert.equal(payload.outputKey, 'runs/r1/rounds/2/w0.safetensors');
    assert.equal(payload.checkpointKey, 'runs/r1/rounds/2/checkpoints/w0.safetensors');
    // Every key the job writes is in its payload.
    assert.equal(payload.resultKey, 'runs/r1/rounds/2/w0.json');
    assert.equal(payload.checkpointTrainerKey, 'runs/r1/rounds/2/checkpoints/w0.trainer.safetensors');
    assert.equal(payload.checkpointStateKey, 'runs/r1/rounds/2/checkpoints/w0.json');
    assert.equal(payload.trainerOutputKey, 'runs/r1/rounds/2/w0.trainer.safetensors');
    assert.equal(payload.lr, 0.005);
    assert.deepEqual(payload.init, init);
    // The same record gives the same flow: a restarted coordinator re-adds identical jobs.
    assert.deepEqual(roundFlow(record(), RUN, 0, 2, init), flow);
    assert.equal(parseJobPayload('aggregate', flow.data).manifestKey, 'runs/r1/rounds/2/merged/unified.manifest.json');
  });

  it('has round 0 build the model from the seed and save it as the initial weights', () => {
    const payload = parseJobPayload('train-shard', roundFlow(record(), RUN, 0, 0, null).children![1].data);
    assert.equal(payload.init, null);
    assert.equal(payload.initOutputKey, 'runs/r1/init.safetensors');
    const later = parseJobPayload('train-shard', roundFlow(record(), RUN, 0, 1, { key: 'k', sha256: 'c'.repeat(64), size: 1 }).children![0].data);
    assert.equal(later.initOutputKey, undefined);
  });

  it('applies learning-rate milestones by round', () => {
    assert.deepEqual([0, 1, 2, 3].map((r) => roundLr(record(), r)), [0.01, 0.01, 0.005, 0.005]);
  });

  it('evaluates the untrained model, every everyRounds rounds and the last', () => {
    assert.deepEqual(evaluationRounds(record()), [0, 4]);
    assert.deepEqual(evaluationRounds(record({ everyRounds: 2 })), [0, 2, 4]);
    const weights = { key: 'runs/r1/init.safetensors', sha256: 'b'.repeat(64), size: 1 };
    const flow = evaluationFlow(record(), RUN, 0, () => weights);
    assert.equal(flow.queueName, 'report');
    const child = parseJobPayload('evaluate', flow.children![1].data);
    assert.equal(child.metricsKey, 'runs/r1/eval-at/0/cable/metrics.json');
    assert.equal(child.heatmapsPrefix, 'runs/r1/eval-at/0/cable/heatmaps');
    const report = parseJobPayload('report', flow.data);
    assert.deepEqual(report.metricsKeys, { bottle: 'runs/r1/eval-at/0/bottle/metrics.json', cable: 'runs/r1/eval-at/0/cable/metrics.json' });
    assert.deepEqual(report.reportKeys, Object.fromEntries(report.formats.map((f) => [f, `runs/r1/eval-at/0/report/report.${f}`])));
    const last = parseJobPayload('report', evaluationFlow(record(), RUN, 4, () => weights).data);
    assert.equal(last.reportKeys.json, 'runs/r1/report/report.json');
    assert.equal(parseJobPayload('evaluate', evaluationFlow(record(), RUN, 4, () => weights).children![0].data).heatmapsPrefix, 'runs/r1/eval/bottle/heatmaps');
    assert.equal(layout.evalMetricsKey('r1', 'cable'), 'runs/r1/eval/cable/metrics.json');
  });

  it('fits each model\'s anomaly map on a seeded sample of its own training images, written beside its evaluation', () => {
    const weights = { key: 'runs/r1/rounds/3/merged/unified.safetensors', sha256: 'b'.repeat(64), size: 10 };
    const flow = fitMapFlow(record(), RUN, 4, 0, weights);
    assert.equal(flow.queueName, 'fit-map');
    assert.equal(flow.opts?.jobId, bullIds.fitMap('r1', 4, 0));
    const data = parseJobPayload('fit-map', flow.data);
    assert.deepEqual(data.map, { kind: 'residual-gaussian', scales: [0], shrinkage: 0.01 });
    assert.equal(data.outputKey, 'runs/r1/eval/unified.safetensors');
    assert.equal(parseJobPayload('fit-map', fitMapFlow(record(), RUN, 0, 0, weights).data).outputKey, 'runs/r1/eval-at/0/unified.safetensors');
    // All 18 training images of both classes, in an order fixed by the seed.
    assert.equal(data.items.length, 18);
    assert.deepEqual(fitMapItems(record(), 'unified'), data.items);
    assert.notDeepEqual(data.items, [...data.items].sort());
    const perClass = record({ mode: 'per-class' });
    const cable = parseJobPayload('fit-map', fitMapFlow(perClass, RUN, 4, 1, weights).data);
    assert.equal(cable.outputKey, 'runs/r1/eval/cable.safetensors');
    assert.ok(cable.items.length === 8 && cable.items.every((i) => i.startsWith('cable/')));
  });

  it('fits a memory bank with evaluation.memory\'s settings, on at most its fitImages; the cosine map has nothing to fit', () => {
    const weights = { key: 'runs/r1/rounds/3/merged/unified.safetensors', sha256: 'b'.repeat(64), size: 10 };
    const data = parseJobPayload('fit-map', fitMapFlow(record({ anomalyMap: 'memory' }), RUN, 4, 0, weights).data);
    assert.deepEqual(data.map, { kind: 'memory', features: 'teacher', scale: 'stem', inputScale: 1, classBanks: true, bankSize: 16384 });
    assert.equal(data.items.length, 12);
    assert.equal(fittedMapSettings(record({ anomalyMap: 'cosine' })), undefined);
    assert.throws(() => fitMapFlow(record({ anomalyMap: 'cosine' }), RUN, 4, 0, weights), /nothing to fit/);
  });
});
