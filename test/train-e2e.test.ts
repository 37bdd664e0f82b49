// Distributed training end to end against real services: Redis (REDIS_URL or 127.0.0.1:6379,
// under a prefix of its own) and an S3-compatible server (s3rver) on loopback. A tiny run in
// unified and in per-class mode: rounds as flows, aggregation, evaluation of the untrained and
// the trained model, reports in S3, and every stored object verifying.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Coordinator, planRun, type CoordinatorEvent } from '@pmamba/coordinator';
import { PyramidMamba, exportTeacherWeights, loadTrainerState, presetConfig, readSafetensors, useBackend } from '@pmamba/model';
import { METRIC_NAMES, layout, parseEvaluationRecord, parseRoundManifest, type ReportTable, type RunConfigInput } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { startWorker, type WorkerHandle } from '@pmamba/worker';
import { testRedis } from './support/redis.ts';
import { startS3Server, type S3TestServer } from './support/s3-server.ts';
import { tinyConfig, verifyAll } from './support/tiny-run.ts';

const redis = testRedis('e2e');
let s3: S3TestServer;
let dir: string;
let store: ArtifactStore;
let worker: WorkerHandle;

before(async () => {
  s3 = await startS3Server();
  // The worker's sandboxed processes inherit the S3 settings from this process.
  Object.assign(process.env, s3.env);
  dir = await mkdtemp(join(tmpdir(), 'pmamba-e2e-'));
  store = await openStore(s3.storeUrl('e2e'));
  worker = await startWorker({
    connection: redis.connection,
    prefix: redis.prefix,
    storeUrl: s3.storeUrl('e2e'),
    backend: 'wasm',
    concurrency: 2,
  });
});

after(async () => {
  await worker?.shutdown();
  await store?.close();
  await redis.clear();
  await s3?.dispose();
  await rm(dir, { recursive: true, force: true });
});

function assertTable(table: ReportTable, classes: string[]): void {
  assert.deepEqual(Object.keys(table.classes).sort(), classes);
  for (const m of METRIC_NAMES) {
    for (const c of classes) {
      const v = table.classes[c][m];
      assert.ok(v !== null && v >= 0 && v <= 1, `${c} ${m} = ${v}`);
    }
    assert.ok(table.mean[m] !== null);
  }
}

async function trainTiny(mode: 'unified' | 'per-class', runId: string, evaluation: Partial<RunConfigInput['evaluation']> = {}) {
  const config = tinyConfig(join(dir, 'data'), s3.storeUrl('e2e'), { training: { mode }, evaluation: { batchSize: 6, heatmaps: 1, blurSigma: 1, ...evaluation } });
  const events: CoordinatorEvent[] = [];
  const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store, onEvent: (e) => events.push(e) });
  try {
    const record = await planRun(config, { runId });
    await coordinator.createRun(record);
    return { record, events, outcome: await coordinator.run(record) };
  } finally {
    await coordinator.close();
  }
}

describe('pmamba train end to end (Redis + S3)', () => {
  it('trains one unified model over two rounds of two jobs and reports the untrained and trained tables', async () => {
    const { record, events, outcome } = await trainTiny('unified', 'e2e-unified');
    const classes = record.plan.classes;
    assert.deepEqual(classes, ['carpet', 'disc']);
    assert.deepEqual(record.plan.models, ['unified']);
    // Each class split over the two jobs: four shards, two per job.
    assert.equal(record.plan.shards.length, 4);

    const rounds = events.filter((e) => e.type === 'round-finished');
    assert.deepEqual(rounds.map((e) => e.round), [0, 1]);
    for (let r = 0; r < 2; r++) {
      const m = await store.getJson(layout.roundManifestKey('e2e-unified', r), parseRoundManifest);
      assert.deepEqual(m.jobs.map((j) => j.jobId), ['w0', 'w1']);
      // 2 steps × batch 2 per job.
      assert.equal(m.samples, 8);
      assert.ok(m.loss > 0 && Number.isFinite(m.loss));
      // The jobs' AdamW moments, averaged the same way: the next round continues from them.
      const trainer = loadTrainerState(await store.getBytes(m.trainer!.key), m.trainer!.key);
      assert.equal(trainer.optimizer.step, 2 * (r + 1), 'the optimiser step count runs on across rounds');
      assert.ok(trainer.optimizer.arrays.size > 0);
    }

    assert.deepEqual(outcome.evaluations.map((e) => e.atRound), [0, 2]);
    for (const { result } of outcome.evaluations) assertTable(result.table, classes);
    // The report files are in S3, and report.json is the table.
    const final = outcome.evaluations[1].result;
    assert.deepEqual(final.artifacts.map((a) => a.key.split('/').pop()).sort(), ['report.csv', 'report.html', 'report.json', 'report.md']);
    const json = JSON.parse(Buffer.from(await store.getBytes('runs/e2e-unified/report/report.json')).toString('utf8'));
    assert.deepEqual(json, { classes: final.table.classes, mean: final.table.mean });
    assert.match(Buffer.from(await store.getBytes('runs/e2e-unified/report/report.md')).toString('utf8'), /\| carpet \|/);
    assert.ok(await store.exists('runs/e2e-unified/eval-at/0/report/report.html'));

    assert.equal(outcome.manifest!.models.unified.key, layout.mergedWeightsKey('e2e-unified', 1));
    assert.ok((await verifyAll(store, 'runs/e2e-unified/')) > 20);

    // The teacher was made first, by one teacher-pretrain job, and stored under its fingerprint;
    // run.json names it, and the report says which teacher the table belongs to.
    assert.equal(record.spec.teacher?.source, 'self-supervised');
    const fp = record.spec.teacher.source === 'self-supervised' ? record.spec.teacher.fingerprint : '';
    assert.deepEqual(events.filter((e) => e.type === 'teacher-started').length, 1);
    const ready = events.find((e) => e.type === 'teacher-ready');
    assert.ok(ready?.type === 'teacher-ready' && !ready.fromStore && ready.teacher.key === layout.pretextTeacherKey(fp));
    assert.match(outcome.teacher, /self-supervised on the training images/);
    assert.match(Buffer.from(await store.getBytes('runs/e2e-unified/report/report.html')).toString('utf8'), new RegExp(`fingerprint ${fp.slice(0, 12)}`));

    // Both round-0 jobs loaded that teacher and calibrated its BatchNorm on the same sample of
    // the whole training set: the initial weights hold its convolutions and data statistics, and
    // every job's output carries that very teacher, so averaging copies it unchanged.
    const tensors = async (key: string) => readSafetensors(await store.getBytes(key)).tensors;
    const init = await tensors(layout.initWeightsKey('e2e-unified'));
    const made = await tensors(layout.pretextTeacherKey(fp));
    assert.deepEqual(init.get('net_t.layer2.0.conv1.weight')!.data, made.get('layer2.0.conv1.weight')!.data, 'round 0 starts from the self-made teacher');
    const variance = init.get('net_t.layer3.1.bn2.running_var')!.data as Float32Array;
    assert.ok(variance.some((v) => Math.abs(v - 1) > 0.01), 'calibrated statistics differ from the identity init');
    assert.equal((init.get('net_t.bn1.num_batches_tracked')!.data as BigInt64Array)[0], 1n, 'tiny data set: one calibration batch');
    assert.equal(readSafetensors(await store.getBytes(outcome.manifest!.models.unified.key)).metadata['pmamba.teacher_sha256'], ready.teacher.sha256, 'the weights name their teacher');
    for (const job of ['w0', 'w1']) {
      const out = await tensors(layout.jobWeightsKey('e2e-unified', 0, job));
      for (const [name, t] of init) if (name.startsWith('net_t.')) assert.deepEqual(out.get(name)!.data, t.data, `${job} ${name}`);
    }
  });

  it('starts round 0 from a pretrained teacher file taken from the store, keeping its BatchNorm statistics', async () => {
    // A resnet18 teacher file with torchvision names, as `pmamba weights fetch` or another run gives.
    await useBackend('cpu');
    const source = new PyramidMamba(presetConfig('small'), 99);
    const file = join(dir, 'resnet18-teacher.safetensors');
    await writeFile(file, exportTeacherWeights(source));
    source.dispose();
    const config = tinyConfig(join(dir, 'data'), s3.storeUrl('e2e'), { training: { rounds: 1 }, model: { teacher: { weights: file } } });
    const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store });
    try {
      const record = await planRun(config, { runId: 'e2e-weights', store });
      assert.equal(record.spec.teacher?.source, 'weights');
      await coordinator.createRun(record);
      const outcome = await coordinator.run(record);
      assert.match(outcome.teacher, /resnet18-teacher\.safetensors \(sha256 [0-9a-f]{12}…\), its own BatchNorm statistics/);
      const given = readSafetensors(await readFile(file)).tensors;
      const init = readSafetensors(await store.getBytes(layout.initWeightsKey('e2e-weights')));
      for (const name of ['conv1.weight', 'layer3.1.conv2.weight', 'layer2.0.bn1.running_var', 'layer1.1.bn2.running_mean']) {
        assert.deepEqual(init.tensors.get(`net_t.${name}`)!.data, given.get(name)!.data, name);
      }
      const digest = record.spec.teacher.source === 'weights' ? record.spec.teacher.file.sha256 : '';
      assert.equal(init.metadata['pmamba.teacher_sha256'], digest);
      assertTable(outcome.evaluations[1].result.table, ['carpet', 'disc']);
    } finally {
      await coordinator.close();
    }
  });

  it('completes with policy skip when a training and a test image are corrupt, listing what it skipped', async () => {
    const data = join(dir, 'corrupt');
    const base = tinyConfig(data, s3.storeUrl('e2e'), { training: { rounds: 1 } });
    await planRun(base, { runId: 'e2e-corrupt-probe' });
    await writeFile(join(data, 'disc', 'train', 'good', '001.png'), 'truncated');
    await writeFile(join(data, 'disc', 'test', 'good', '000.png'), Buffer.alloc(100));
    const config = tinyConfig(data, s3.storeUrl('e2e'), { training: { rounds: 1 }, dataset: { badImagePolicy: 'skip' } });
    const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store });
    try {
      const record = await planRun(config, { runId: 'e2e-corrupt', onWarning: () => undefined });
      assert.ok(!record.plan.shards.flatMap((sh) => sh.items).includes('disc/train/good/001.png'));
      await coordinator.createRun(record);
      const outcome = await coordinator.run(record);
      assertTable(outcome.evaluations[1].result.table, ['carpet', 'disc']);
      const disc = await store.getJson('runs/e2e-corrupt/eval/disc/metrics.json', parseEvaluationRecord);
      assert.deepEqual(disc.skipped, ['disc/test/good/000.png']);
      assert.deepEqual(disc.images, { normal: 2, anomalous: 3 });
    } finally {
      await coordinator.close();
    }
  });

  it('trains one model per class in per-class mode, reusing the teacher made for the same images, and fits each one\'s residual-Gaussian map', async () => {
    const { record, events, outcome } = await trainTiny('per-class', 'e2e-per-class', { anomalyMap: 'residual-gaussian', residualGaussian: { scales: [0, 1] } });
    assert.equal(events.filter((e) => e.type === 'teacher-started').length, 0, 'no second pretraining');
    assert.ok(events.some((e) => e.type === 'teacher-ready' && e.fromStore));
    assert.deepEqual(record.plan.models, ['carpet', 'disc']);
    for (const model of record.plan.models) {
      for (let r = 0; r < 2; r++) {
        const m = await store.getJson(layout.roundManifestKey('e2e-per-class', r, model), parseRoundManifest);
        assert.equal(m.model, model);
        // Two jobs per model, each on its own shard of the model's class.
        assert.equal(m.jobs.length, 2);
      }
    }
    assert.deepEqual(Object.keys(outcome.models).sort(), ['carpet', 'disc']);
    // Before each evaluation (untrained, trained) a fit-map job per model fitted its map on the
    // model's 4 training images; the final models are those weights, carrying the map.
    assert.deepEqual(events.filter((e) => e.type === 'map-fit-started').map((e) => e.type === 'map-fit-started' && e.atRound), [0, 2]);
    assert.deepEqual(events.filter((e) => e.type === 'map-fit-finished').map((e) => e.type === 'map-fit-finished' && `${e.atRound} ${e.model} ${e.images}`).sort(), ['0 carpet 4', '0 disc 4', '2 carpet 4', '2 disc 4']);
    assert.equal(outcome.models.disc.key, layout.fittedWeightsKey('e2e-per-class', 'disc'));
    assert.equal(outcome.manifest!.models.disc.key, layout.fittedWeightsKey('e2e-per-class', 'disc'));
    const merged = readSafetensors(await store.getBytes(layout.mergedWeightsKey('e2e-per-class', 1, 'disc')));
    const fitted = readSafetensors(await store.getBytes(outcome.models.disc.key));
    assert.deepEqual(JSON.parse(fitted.metadata['pmamba.anomaly_map']).scales.map((s: { scale: number }) => s.scale), [0, 1]);
    for (const [name, t] of merged.tensors) assert.deepEqual(fitted.tensors.get(name)!.data, t.data, `the fitted file keeps ${name}`);
    assert.ok(fitted.tensors.has('anomaly_map.residual_gaussian.0.precision'));
    const disc = await store.getJson(layout.evalMetricsKey('e2e-per-class', 'disc'), parseEvaluationRecord);
    assert.equal(disc.weights.sha256, outcome.models.disc.sha256, 'the evaluation scored the fitted weights');
    assertTable(outcome.evaluations.at(-1)!.result.table, ['carpet', 'disc']);
    await verifyAll(store, 'runs/e2e-per-class/');
  });

  it('fits a memory-bank map on twice-upsampled inputs and evaluates with it', async () => {
    const { events, outcome } = await trainTiny('unified', 'e2e-memory', { anomalyMap: 'memory', memory: { bankSize: 100, inputScale: 2 } });
    assert.deepEqual(events.filter((e) => e.type === 'map-fit-finished').map((e) => e.type === 'map-fit-finished' && `${e.atRound} ${e.model} ${e.images}`).sort(), ['0 unified 8', '2 unified 8']);
    assert.equal(outcome.models.unified.key, layout.fittedWeightsKey('e2e-memory', 'unified'));
    const fitted = readSafetensors(await store.getBytes(outcome.models.unified.key));
    const { classes, ...stored } = JSON.parse(fitted.metadata['pmamba.anomaly_map']);
    assert.deepEqual(stored, { kind: 'memory', scale: 'stem', features: 'teacher', inputScale: 2, locations: 8 * (64 / 2) ** 2 });
    // The default reads the teacher's stem, a bank per class: 100 of each class's 4 images' 32×32
    // stride-2 locations (the 32² images seen at 64²), 64 channels each; the router describes the
    // 8 images; each class standardises the stem's 64 channels.
    assert.deepEqual([...classes.names].sort(), ['carpet', 'disc']);
    assert.deepEqual(classes.rows, [100, 100]);
    const shape = (part: string) => fitted.tensors.get(`anomaly_map.memory.stem.${part}`)!.shape;
    assert.deepEqual([shape('bank'), shape('router.descriptors'), shape('router.class'), shape('class_mean'), shape('class_sd')], [[200, 64], [8, 128], [8], [2, 64], [2, 64]]);
    const carpet = await store.getJson(layout.evalMetricsKey('e2e-memory', 'carpet'), parseEvaluationRecord);
    assert.equal(carpet.weights.sha256, outcome.models.unified.sha256, 'the evaluation scored the fitted weights');
    assertTable(outcome.evaluations.at(-1)!.result.table, ['carpet', 'disc']);
  });
});
