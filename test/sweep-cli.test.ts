// `pmamba sweep` against real Redis, a real store and real `pmamba worker` processes: a 2×2
// grid of tiny runs with median early stopping, the sweep's process killed (SIGKILL) half-way
// and resumed. Nothing finished is trained or evaluated again (every job finishes once), the
// median rule decides exactly the runs it should, and the ablation table matches the runs' own
// reports.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, it } from 'node:test';
import { stringify } from 'yaml';
import { layout, parseRunManifest, parseSweepManifest, type ReportResult, type SweepManifest } from '@pmamba/protocol';
import { openStore } from '@pmamba/store';
import { testRedis } from './support/redis.ts';
import { CLI, ROOT, spawnWorker, type WorkerProcess } from './support/tiny-run.ts';

const redis = testRedis('sweep');
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await redis.clear();
});

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  for (const s of [child.stdout, child.stderr]) {
    createInterface({ input: s! }).on('line', (l) => {
      lines.push(l);
      for (const w of waiters.filter((w) => w.pattern.test(l))) w.resolve();
    });
  }
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitFor = (pattern: RegExp, ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (lines.some((l) => pattern.test(l))) return resolve();
      const timer = setTimeout(() => reject(new Error(`no line ${pattern} in ${ms} ms:\n${lines.join('\n')}`)), ms);
      waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
    });
  return { child, lines, exited, waitFor };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

it('runs a 2×2 sweep, killed half-way and resumed, without redoing anything finished', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-sweep-cli-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const storeUrl = `file://${join(dir, 'store')}`;
  const config = {
    version: 1,
    run: { id: 'grid' },
    dataset: { root: join(dir, 'data'), imageSize: 32, synthetic: { classes: 2, size: 32, train: 4, test: 6, seed: 3 } },
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] }, teacher: { init: 'random' } },
    training: { mode: 'unified', rounds: 2, localSteps: 2, batchSize: 2, workers: 2, checkpointEverySteps: 1, seed: 5 },
    evaluation: { batchSize: 6, heatmaps: 0, blurSigma: 1, everyRounds: 1 },
    sweep: {
      // The settings that scored higher after round 1 in every seed measured (5, 6, 8: noise 0.3 over 0 by
      // 0.01–0.06 mAD) come first, so that later runs fall below the median and the stop path runs.
      grid: { 'model.noiseStd': [0.3, 0], 'model.pyramid': [{ mode: 'levels', levels: [1, 2, 2, 2] }, { mode: 'levels', levels: [1, 1, 1, 1] }] },
      earlyStopping: { rule: 'median', minPeers: 1 },
    },
  };
  const file = join(dir, 'sweep.yaml');
  await writeFile(file, stringify(config));
  const workers: WorkerProcess[] = [0, 1].map(() => spawnWorker({ redisUrl: redis.url, prefix: redis.prefix, storeUrl }));
  cleanup.push(async () => {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
  });
  const services = ['--store', storeUrl, '--redis', redis.url, '--prefix', redis.prefix, '--local-workers', '0'];
  const report = join(dir, 'report');

  const first = runCli(['sweep', '-c', file, ...services, '--report', report]);
  await first.waitFor(/\[grid-v1-s5\] round 1\/2 done/, 300_000);
  first.child.kill('SIGKILL');
  await first.exited;
  const store = await openStore(storeUrl);
  cleanup.push(() => store.close());
  const key = layout.sweepManifestKey('grid');
  const killed: SweepManifest = await store.getJson(key, (v) => parseSweepManifest(v, key));
  assert.equal(killed.variants[0].runs[0].status, 'done', 'variant 0 finished before the kill (runs go one at a time)');
  assert.equal(killed.variants[1].runs[0].status, 'running');

  const second = runCli(['sweep', '--resume', 'grid', ...services, '--report', report]);
  const code = await second.exited;
  assert.equal(code, 0, second.lines.join('\n'));
  assert.ok(second.lines.some((l) => /resuming sweep grid: 4 variant\(s\) × 1 seed\(s\) = 4 run\(s\), 3 to do/.test(l)), second.lines.join('\n'));
  const done: SweepManifest = await store.getJson(key, (v) => parseSweepManifest(v, key));
  assert.equal(done.variants[0].runs[0].finishedAt, killed.variants[0].runs[0].finishedAt, 'the finished run was left as it was');

  // The median rule, run by run (one at a time, so a run's peers are the runs before it).
  const runs = done.variants.map((v) => v.runs[0]);
  const atOne = runs.map((r) => r.evaluated['1'] as number);
  assert.ok(atOne.every((v) => typeof v === 'number'), JSON.stringify(atOne));
  for (const [i, run] of runs.entries()) {
    const expected: string = i > 0 && atOne[i] < median(atOne.slice(0, i)) ? 'stopped' : 'done';
    assert.equal(run.status, expected, `${run.runId}: mAD after round 1 ${atOne[i]} against ${JSON.stringify(atOne.slice(0, i))}`);
  }
  // The grid's order above makes a stop all but certain (measured: variants 2 and 3 stop with seed 5).
  assert.ok(runs.some((r) => r.status === 'stopped'), `no run stopped: ${JSON.stringify(atOne)}`);

  // Every job finished exactly once across both sweep processes; stopped runs trained one round.
  const finished = workers.flatMap((w) => w.lines).map((l) => /finished (train-shard|evaluate) job (\S+)/.exec(l)).filter((m) => m !== null);
  const ids = finished.map((m) => m![2]);
  assert.equal(new Set(ids).size, ids.length, `a job ran twice: ${ids.sort().join(' ')}`);
  const expectedTrain = runs.flatMap((r) => (r.status === 'stopped' ? [0] : [0, 1]).flatMap((round) => [`${r.runId}.r${round}.w0`, `${r.runId}.r${round}.w1`]));
  assert.deepEqual(finished.filter((m) => m![1] === 'train-shard').map((m) => m![2]).sort(), expectedTrain.sort());
  const evaluations = runs.reduce((n, r) => n + (r.status === 'stopped' ? 1 : 3) * 2, 0);
  assert.equal(finished.filter((m) => m![1] === 'evaluate').length, evaluations, 'rounds 0, 1 and 2 for done runs, round 1 for stopped ones, × 2 classes');

  // The table: each row's mAD is its run's own (final report, or the evaluation it stopped at).
  const table = JSON.parse(await readFile(join(report, 'ablation.json'), 'utf8'));
  assert.equal(table.rows.length, 4);
  for (const [i, run] of runs.entries()) {
    let mad: number | null;
    if (run.status === 'done') {
      const manifest = await store.getJson(layout.runManifestKey(run.runId), (v) => parseRunManifest(v));
      mad = manifest.table!.mean.mad;
    } else {
      assert.equal(await store.exists(layout.runManifestKey(run.runId)), false, 'a stopped run has no run manifest');
      mad = ((await store.getJson(layout.reportKey(run.runId, 'json', 1))) as ReportResult['table']).mean.mad;
      assert.equal(table.rows[i].status, 'stopped');
    }
    assert.equal(table.rows[i].cells.mad.mean, mad, `row ${i}`);
  }
  const md = await readFile(join(report, 'ablation.md'), 'utf8');
  assert.match(md, /\| 0: model\.noiseStd=0\.3, model\.pyramid=levels 1,2,2,2 \(baseline\) \| 1 \|/);
  assert.match(md, / \(stopped\) \| 1 \|/, 'stopped runs are marked in the table');
  const html = await readFile(join(report, 'ablation.html'), 'utf8');
  assert.equal(html.match(/<svg /g)?.length, 16, '8 metrics × 2 swept paths');
  assert.ok(second.lines.some((l) => /^wall \d+ s; runs \d+ s in all/.test(l)));
});
