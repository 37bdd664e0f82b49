import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoordinatorEvent } from '@pmamba/coordinator';
import { createLogger } from '../src/log.ts';
import { RunProgress } from '../src/progress.ts';

test('train --log-format json: the coordinator lines are JSON carrying run, round and job ids, secrets scrubbed', async () => {
  const lines: string[] = [];
  const logger = await createLogger({ name: 'pmamba train', format: 'json', secrets: ['s3cr3t-pw'], stream: { write: (t: string) => lines.push(t) } });
  const progress = new RunProgress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, logger);
  const record = {
    runId: 'r-7',
    config: { training: { workers: 2 }, dataset: { imageSize: 64 }, model: { preset: 'small' } },
    plan: { mode: 'unified', classes: ['carpet'], models: ['unified'], rounds: 2 },
  };
  const events = [
    { type: 'run-started', record, resumed: false, jobsPerRound: 2 },
    { type: 'round-started', model: 'unified', round: 0, rounds: 2, jobs: [] },
    { type: 'job-progress', job: { queue: 'train-shard', id: 'r-7.r0.w0', label: 'round 1/2 w0' }, state: 'active', done: 1, total: 4, unit: 'steps', loss: 0.5, attemptsMade: 0 },
    { type: 'warning', message: 'lost touch with Redis (redis://:s3cr3t-pw@h:6379)' },
  ] as unknown as CoordinatorEvent[];
  for (const e of events) progress.handle(e);
  const parsed = lines.map((l) => JSON.parse(l));
  assert.equal(parsed.length, 4);
  assert.ok(parsed.every((p) => p.run === 'r-7' && p.name === 'pmamba-train'));
  assert.match(parsed[0].msg, /^starting run r-7: unified mode/);
  assert.deepEqual([parsed[1].round, parsed[1].model], [0, 'unified']);
  assert.deepEqual([parsed[2].job, parsed[2].queue], ['r-7.r0.w0', 'train-shard']);
  assert.ok(!lines.join('').includes('s3cr3t-pw'), lines.join(''));
});
