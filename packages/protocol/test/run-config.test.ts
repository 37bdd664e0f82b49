import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadRunConfig, parseRunConfig, teacherSource } from '../src/index.ts';
import { ConfigError, type FieldIssue } from '../src/errors.ts';
import { expandSweep } from '../src/sweep.ts';
import { parseRunConfigText } from '../src/load-config.ts';

const minimal = { dataset: { root: './data' }, training: { rounds: 2, localSteps: 5 } };

function issuesOf(fn: () => unknown, code = 'E_CONFIG_INVALID'): FieldIssue[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, code, err.message);
    return [...err.issues];
  }
  assert.fail('expected a ConfigError');
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected an error');
}

describe('run config schema', () => {
  it('fills every default of a minimal config', () => {
    const c = parseRunConfig(minimal);
    assert.equal(c.version, 1);
    assert.deepEqual(c.run, {});
    assert.deepEqual(c.dataset, { root: './data', format: 'auto', classes: 'all', imageSize: 256, badImagePolicy: 'fail' });
    assert.deepEqual(c.model, { preset: 'reference', teacher: { init: 'random', calibrationImages: 256, pretrain: { steps: 300, batchSize: 16, lr: 0.001, frozenStages: 0, images: 512, checkpointEverySteps: 50 } } });
    assert.deepEqual(c.training, {
      mode: 'unified',
      rounds: 2,
      localSteps: 5,
      batchSize: 16,
      lr: 0.005,
      betas: [0.9, 0.999],
      weightDecay: 1e-4,
      gradClip: 5,
      lrMilestones: [],
      lrGamma: 0.1,
      seed: 0,
      workers: 1,
      checkpointEverySteps: 50,
    });
    assert.equal(c.evaluation.auProMaxFpr, 0.3);
    assert.equal(c.evaluation.mapReduction, 'mean');
    assert.equal(c.evaluation.imageScore, 'max');
    assert.deepEqual(c.evaluation.memory, { features: 'teacher', scale: 'stem', inputScale: 1, classBanks: true, bankSize: 16384, fitImages: 512 });
    assert.deepEqual(c.evaluation.metrics, ['i_auroc', 'i_ap', 'i_f1max', 'p_auroc', 'p_ap', 'p_f1max', 'au_pro', 'mad']);
    assert.deepEqual(c.store, { url: 'file://./artifacts' });
    assert.deepEqual(c.redis, { prefix: 'pmamba' });
  });

  it('takes a hash-tagged Redis prefix, and a cluster URL with one', () => {
    for (const prefix of ['{pmamba}', '{pmamba}-staging', 'team.{pm}']) {
      assert.equal(parseRunConfig({ ...minimal, redis: { prefix } }).redis.prefix, prefix);
    }
    const c = parseRunConfig({ ...minimal, redis: { url: 'rediss+cluster://:pw@a.example:6380,b.example:6380', prefix: '{pmamba}' } });
    assert.deepEqual(c.redis, { url: 'rediss+cluster://:pw@a.example:6380,b.example:6380', prefix: '{pmamba}' });
  });

  it('scales the default learning rate with the batch size, like the paper', () => {
    assert.equal(parseRunConfig({ ...minimal, training: { ...minimal.training, batchSize: 32 } }).training.lr, 0.01);
    assert.equal(parseRunConfig({ ...minimal, training: { ...minimal.training, batchSize: 32, lr: 0.001 } }).training.lr, 0.001);
  });

  it('accepts its own output again unchanged (run.json stores the parsed config)', () => {
    const once = parseRunConfig({ ...minimal, dataset: { root: 'x', synthetic: {} }, model: { preset: 'small', noiseStd: 0 } });
    assert.deepEqual(parseRunConfig(JSON.parse(JSON.stringify(once))), once);
  });

  it('passes unknown model fields through for the model package to check', () => {
    const c = parseRunConfig({ ...minimal, model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 3, 4] } } });
    assert.deepEqual(c.model, { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 3, 4] }, teacher: { init: 'random', calibrationImages: 256, pretrain: { steps: 300, batchSize: 16, lr: 0.001, frozenStages: 0, images: 512, checkpointEverySteps: 50 } } });
  });

  it('resolves where the teacher comes from and whether its BatchNorm is calibrated', () => {
    const teacher = (t: object) => teacherSource(parseRunConfig({ ...minimal, model: { teacher: t } }).model.teacher);
    assert.deepEqual(teacher({}), { source: 'random', batchNorm: 'calibrate', stem: 'gaussian' });
    assert.deepEqual(teacher({ stem: 'random' }), { source: 'random', batchNorm: 'calibrate', stem: 'random' });
    assert.deepEqual(teacher({ init: 'self-supervised' }), { source: 'self-supervised', batchNorm: 'calibrate', stem: 'gaussian' });
    assert.deepEqual(teacher({ weights: 'w/resnet18.pth' }), { source: 'weights', batchNorm: 'keep' }, 'pretrained statistics are kept');
    assert.deepEqual(teacher({ weights: 'w/resnet18.pth', batchNorm: 'calibrate' }), { source: 'weights', batchNorm: 'calibrate' });
    assert.match(messageOf(() => parseRunConfig({ ...minimal, model: { teacher: { sha256: 'abc' } } })), /model\.teacher\.sha256.*64 lower-case hex/);
    assert.match(messageOf(() => parseRunConfig({ ...minimal, model: { teacher: { weights: 'w.pth', stem: 'gaussian' } } })), /model\.teacher\.stem: applies only to a teacher made without weights/);
    assert.match(messageOf(() => parseRunConfig({ ...minimal, model: { teacher: { pretrain: { steps: 0 } } } })), /model\.teacher\.pretrain\.steps/);
  });

  it('names the field, the expectation and the value', () => {
    const message = messageOf(() => parseRunConfig({ ...minimal, training: { ...minimal.training, batchSize: -1 } }));
    assert.match(message, /^run config is not a valid run config:\n {2}training\.batchSize: expected a positive integer, got -1$/);
    const cases: [object, string, string][] = [
      [{ dataset: { root: '' } }, 'dataset.root', 'expected a folder path, got ""'],
      [{ dataset: { root: 'x', format: 'mvtech' } }, 'dataset.format', 'expected one of "auto", "mvtec", "visa", "mvtec-ad2", "btad", "folder", got "mvtech"'],
      [{ dataset: { root: 'x', imageSize: 100 } }, 'dataset.imageSize', 'expected a multiple of 32, got 100'],
      [{ dataset: { root: 'x', classes: ['bottle', 'bottle'] } }, 'dataset.classes.1', 'class "bottle" is listed twice'],
      [{ dataset: { root: 'x', classes: ['../etc'] } }, 'dataset.classes.0', "expected a class name: a folder name without '/', '\\' or control characters, not '.' or '..', got \"../etc\""],
      [{ dataset: { root: 'x', classes: 'some' } }, 'dataset.classes', 'expected "all" or a list of class names, got "some"'],
      [{ training: { rounds: 0, localSteps: 1 } }, 'training.rounds', 'expected a positive integer, got 0'],
      [{ training: { rounds: 1, localSteps: 1, microBatch: 0 } }, 'training.microBatch', 'expected a positive integer, got 0'],
      [{ training: { rounds: 2.5, localSteps: 1 } }, 'training.rounds', 'expected a positive integer, got 2.5'],
      [{ training: { rounds: 1e9, localSteps: 1 } }, 'training.rounds', 'expected at most 10,000 rounds, got 1000000000'],
      [{ training: { rounds: 1, localSteps: 1e12 } }, 'training.localSteps', 'expected at most 10,000,000 steps, got 1000000000000'],
      [{ training: { rounds: 1, localSteps: 1, batchSize: 1e6 } }, 'training.batchSize', 'expected at most 4,096 images per step, got 1000000'],
      [{ training: { rounds: 1, localSteps: 1, workers: 100000 } }, 'training.workers', 'expected at most 1,024 jobs per round, got 100000'],
      [{ training: { rounds: '3', localSteps: 1 } }, 'training.rounds', 'expected a positive integer, got "3"'],
      [{ training: { localSteps: 1 } }, 'training.rounds', 'expected a positive integer, got nothing'],
      [{ training: { rounds: 3 } }, 'training', 'set one of localSteps or localEpochs (the work each job does per round)'],
      [{ training: { rounds: 3, localSteps: 1, localEpochs: 1 } }, 'training.localEpochs', 'set either localSteps or localEpochs, not both'],
      [{ training: { rounds: 3, localSteps: 1, lrMilestones: [2, 1] } }, 'training.lrMilestones.1', 'expected milestones in increasing order, got 1 after 2'],
      [{ training: { rounds: 3, localSteps: 1, lrMilestones: [3] } }, 'training.lrMilestones.0', 'expected a round below rounds (3), got 3'],
      [{ training: { rounds: 3, localSteps: 1, betas: [0.9, 1] } }, 'training.betas.1', 'expected a number < 1, got 1'],
      [{ training: { rounds: 3, localSteps: 1, gradClip: 0 } }, 'training.gradClip', 'expected a positive number, got 0'],
      [{ training: { rounds: 3, localSteps: 1, mode: 'perclass' } }, 'training.mode', 'expected one of "unified", "per-class", got "perclass"'],
      [{ training: { rounds: 3, localSteps: 1, batch_size: 8 } }, 'training.batch_size', 'unknown field (did you mean "batchSize"?)'],
      [{ training: { rounds: 3, localSteps: 1, lr_milestone: [1] } }, 'training.lr_milestone', 'unknown field (did you mean "lrMilestones"?)'],
      [{ evaluation: { metrics: [] } }, 'evaluation.metrics', 'expected at least 1 item, got an empty list'],
      [{ evaluation: { auProMaxFpr: 1.5 } }, 'evaluation.auProMaxFpr', 'expected a number in (0, 1], got 1.5'],
      [{ evaluation: { memory: { scale: 3 } } }, 'evaluation.memory.scale', 'expected stem or a feature scale 0, 1 or 2, got 3'],
      [{ evaluation: { memory: { features: 'teacher+residual' } } }, 'evaluation.memory.scale', 'teacher+residual needs a feature scale 0, 1 or 2: the stem has no student counterpart'],
      [{ model: { preset: 'large' } }, 'model.preset', 'expected one of "reference", "small", got "large"'],
      [{ model: { preset: 'small', dstate: 16 } }, 'model.dstate', 'unknown field (did you mean "dState"?)'],
      [
        { dataset: { root: 'x', imageSize: 96 }, model: { preset: 'small' } },
        'dataset.imageSize',
        'image size 96: decoder stage 0 map 3×3 is not divisible by 2, which its pyramid levels need; sizes that fit this model near it: 64, 128 (it takes 64, 128, 192, 256, …) (model preset small)',
      ],
      [{ model: 'small' }, 'model', 'expected a mapping of fields, got "small"'],
      [{ model: { teacher: { batchNorm: 'frozen' } } }, 'model.teacher.batchNorm', 'expected one of "calibrate", "keep", got "frozen"'],
      [{ model: { teacher: { calibrationImages: 0 } } }, 'model.teacher.calibrationImages', 'expected a positive integer, got 0'],
      [{ store: { url: 's3://B/x' } }, 'store.url', 'expected file://PATH (e.g. file://./artifacts) or s3://BUCKET/PREFIX, got "s3://B/x"'],
      [
        { redis: { url: 'localhost:6379' } },
        'redis.url',
        'expected redis://[user:password@]host[:port][/db] (rediss://… for TLS) or redis+cluster://[user:password@]host[:port][,host[:port]…] (rediss+cluster://… for TLS), got "localhost:6379"',
      ],
      [{ redis: { prefix: 'pm{x' } }, 'redis.prefix', "expected 1-64 letters, digits, '_', '.' or '-', with at most one {hash tag} (e.g. {pmamba}, which a Redis Cluster needs), got \"pm{x\""],
      [{ redis: { prefix: '{a}{b}' } }, 'redis.prefix', "expected 1-64 letters, digits, '_', '.' or '-', with at most one {hash tag} (e.g. {pmamba}, which a Redis Cluster needs), got \"{a}{b}\""],
      [
        { redis: { url: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7000' } },
        'redis.prefix',
        "a Redis Cluster (redis.url) needs a hash-tagged prefix: use '{pmamba}' (the workers' --prefix too)",
      ],
      [{ run: { id: 'my run' } }, 'run.id', "expected an id of 1-128 letters, digits, '_' or '-', starting with a letter or digit, got \"my run\""],
      [{ version: 2 }, 'version', 'expected 1, got 2'],
      [{ extras: true }, 'extras', 'unknown field (known: version, run, dataset, model, training, evaluation, store, redis, sweep)'],
    ];
    for (const [patch, path, expected] of cases) {
      const input = {
        ...minimal,
        ...patch,
        dataset: { ...minimal.dataset, ...(patch as { dataset?: object }).dataset },
        training: { ...minimal.training, ...(patch as { training?: object }).training },
      };
      if ((patch as { training?: { rounds?: unknown } }).training && !('rounds' in (patch as { training: object }).training)) {
        delete (input.training as { rounds?: unknown }).rounds;
      }
      if ((patch as { training?: object }).training && !('localSteps' in (patch as { training: object }).training)) {
        delete (input.training as { localSteps?: unknown }).localSteps;
      }
      const issues = issuesOf(() => parseRunConfig(input));
      assert.deepEqual(
        issues.filter((i) => i.path === path).map((i) => i.message),
        [expected],
        `${JSON.stringify(patch)} → ${JSON.stringify(issues)}`,
      );
    }
  });
});

describe('loading config files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pmamba-config-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reports file, line and field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'dataset:\n  root: ./data\ntraining:\n  rounds: 3\n  localSteps: 10\n  batch_size: -1\n');
    await assert.rejects(loadRunConfig(file), (err: ConfigError) => {
      assert.equal(err.code, 'E_CONFIG_INVALID');
      assert.equal(err.file, file);
      assert.equal(err.message, `${file} is not a valid run config:\n  ${file}:6: training.batch_size: unknown field (did you mean "batchSize"?)`);
      assert.deepEqual(err.issues, [{ path: 'training.batch_size', message: 'unknown field (did you mean "batchSize"?)', line: 6 }]);
      return true;
    });
  });

  it('rejects malformed YAML and duplicate keys with their line', async () => {
    const cases: [string, number, RegExp][] = [
      ['dataset:\n  root: a\n  root: b\n', 3, /Map keys must be unique/],
      ['dataset: [\n', 2, /Flow sequence/],
      ['training:\n\trounds: 1\n', 2, /tab/i],
    ];
    for (const [text, line, why] of cases) {
      const issues = issuesOf(() => parseRunConfigText(text, 'x.yaml'), 'E_CONFIG_YAML');
      assert.equal(issues[0].line, line, JSON.stringify(issues));
      assert.match(issues[0].message, why);
    }
  });

  it('says when the file is missing or empty', async () => {
    await assert.rejects(loadRunConfig(join(dir, 'nope.yaml')), (err: ConfigError) => {
      assert.equal(err.code, 'E_CONFIG_READ');
      assert.match(err.message, /nope\.yaml: no such file/);
      return true;
    });
    const empty = join(dir, 'empty.yaml');
    await writeFile(empty, '# nothing yet\n');
    await assert.rejects(loadRunConfig(empty), /\(root\): expected a mapping of fields, got null/);
  });

  it('refuses alias bombs', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`);
    issuesOf(() => parseRunConfigText(lines.join('\n'), 'bomb.yaml'), 'E_CONFIG_YAML');
  });
});

describe('sweeps', () => {
  const base = { ...minimal, run: { id: 'abl', name: 'Ablation' } };

  it('expands the grid in file order, applying overrides before defaults', () => {
    const variants = expandSweep({ ...base, sweep: { grid: { 'training.batchSize': [8, 32], 'model.noiseStd': [0, 0.1] } } });
    assert.deepEqual(
      variants.map((v) => [v.runId, v.config.training.batchSize, v.config.training.lr, v.config.model.noiseStd]),
      [
        ['abl-0', 8, 0.0025, 0],
        ['abl-1', 8, 0.0025, 0.1],
        ['abl-2', 32, 0.01, 0],
        ['abl-3', 32, 0.01, 0.1],
      ],
    );
    assert.equal(variants[3].label, 'training.batchSize=32, model.noiseStd=0.1');
    assert.equal(variants[3].config.run.name, 'Ablation (training.batchSize=32, model.noiseStd=0.1)');
  });

  it('returns the config itself when there is no sweep', () => {
    const [only] = expandSweep(base);
    assert.equal(only.runId, 'abl');
    assert.deepEqual(only.overrides, {});
  });

  it('names the variant and field a bad grid value breaks, with the grid line', () => {
    const text = [
      'run: {id: abl}',
      'dataset: {root: x}',
      'training: {rounds: 2, localSteps: 1}',
      'sweep:',
      '  grid:',
      '    training.batchSize: [16, -1]',
      '',
    ].join('\n');
    try {
      parseRunConfigText(text, 'sweep.yaml');
      assert.fail('expected an error');
    } catch (err) {
      const e = err as ConfigError;
      assert.equal(e.code, 'E_SWEEP_INVALID');
      assert.match(e.message, /sweep variant 1 \(training\.batchSize=-1\) is not a valid run config/);
      assert.deepEqual(e.issues, [{ path: 'training.batchSize', message: 'expected a positive integer, got -1', line: 6 }]);
    }
  });

  it('rejects paths outside the sweepable sections and oversized grids', () => {
    const bad = issuesOf(() => parseRunConfig({ ...base, sweep: { grid: { 'run.id': ['a', 'b'], 'store.url': ['file://./x'] } } }));
    assert.deepEqual(bad.map((i) => i.path), ['sweep.grid.run.id', 'sweep.grid.store.url']);
    const values = Array.from({ length: 9 }, (_, i) => i + 1);
    const big = issuesOf(() => parseRunConfig({ ...base, sweep: { grid: { 'training.seed': values, 'training.workers': values } } }));
    assert.deepEqual(big.map((i) => i.path), ['sweep.grid']);
    assert.match(big[0].message, /81 variants, more than maxVariants \(64\)/);
    const empty = issuesOf(() => parseRunConfig({ ...base, sweep: { grid: { 'training.seed': [] } } }));
    assert.deepEqual(empty.map((i) => i.message), ['expected a non-empty list of values to try, got an empty list']);
  });
});
