import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataError, assignShards, planShards, readMvtec, samplesById } from '@pmamba/data';
import { trainItems } from '../src/shards.ts';
import { tempDir, writeSolid } from './support/helpers.ts';

const items = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}/${String(i).padStart(3, '0')}`);

test('class-wise shards of at most n items, sizes within one of each other, every item once', () => {
  const shards = planShards(
    [
      { className: 'screw', items: items('screw', 10) },
      { className: 'bottle', items: items('bottle', 8) },
      { className: 'empty', items: [] },
    ],
    { maxPerShard: 4 },
  );
  assert.deepEqual(shards.map((s) => [s.id, s.items.length]), [
    ['bottle/0', 4],
    ['bottle/1', 4],
    ['screw/0', 4],
    ['screw/1', 3],
    ['screw/2', 3],
  ]);
  assert.ok(shards.every((s) => s.items.every((i) => i.startsWith(s.className))));
  assert.deepEqual(shards.filter((s) => s.className === 'screw').flatMap((s) => s.items), items('screw', 10));
  assert.throws(() => planShards([], { maxPerShard: 0 }), (e: unknown) => e instanceof DataError && e.code === 'E_ARGUMENT');
  assert.throws(() => planShards([{ className: 'a', items: [] }, { className: 'a', items: [] }], { maxPerShard: 2 }), /listed twice/);
});

test('a seed shuffles within classes reproducibly; another seed gives another order', () => {
  const input = [{ className: 'a', items: items('a', 20) }];
  const s1 = planShards(input, { maxPerShard: 6, seed: 7 });
  const s2 = planShards(input, { maxPerShard: 6, seed: 7 });
  const s3 = planShards(input, { maxPerShard: 6, seed: 8 });
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1.map((s) => s.items), s3.map((s) => s.items));
  assert.deepEqual(s1.flatMap((s) => s.items).sort(), items('a', 20));
});

test('LPT assignment balances items over workers and mixes classes', () => {
  const shards = planShards(
    [
      { className: 'a', items: items('a', 40) },
      { className: 'b', items: items('b', 40) },
      { className: 'c', items: items('c', 13) },
    ],
    { maxPerShard: 10 },
  );
  const w = assignShards(shards, 2);
  assert.deepEqual(w.map((x) => x.items), [47, 46]);
  // Each worker trains on both big classes.
  for (const x of w) assert.deepEqual([...new Set(x.shards.map((s) => s.className))].filter((c) => c !== 'c').sort(), ['a', 'b']);
  assert.deepEqual(assignShards(shards, 2), w, 'deterministic');
  // More workers than shards: the extra ones are listed empty.
  const many = assignShards(shards.slice(0, 2), 4);
  assert.deepEqual(many.map((x) => x.shards.length), [1, 1, 0, 0]);
  assert.throws(() => assignShards(shards, 0), /worker count/);
});

test('LPT matches the greedy optimum on a classic case and ties go to the lowest worker', () => {
  // Sizes 7,6,5,4,3 on 2 workers: LPT gives 7+4+3=14 and 6+5=11 (largest first, least-loaded).
  const shards = [7, 6, 5, 4, 3].map((n, i) => ({ id: `k${i}/0`, className: `k${i}`, index: 0, items: items(`k${i}`, n) }));
  const w = assignShards(shards, 2);
  assert.deepEqual(w.map((x) => x.shards.map((s) => s.items.length)), [[7, 4, 3], [6, 5]]);
  const equal = [0, 1, 2].map((i) => ({ id: `z/${i}`, className: 'z', index: i, items: items('z', 5) }));
  assert.deepEqual(assignShards(equal, 3).map((x) => x.shards[0].id), ['z/0', 'z/1', 'z/2']);
});

test('a plan over a dataset carries sample ids that map back to samples on any copy of the data', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    for (const cls of ['a', 'b']) for (let i = 0; i < 5; i++) await writeSolid(join(dir, cls, 'train', 'good', `${i}.png`), 4, 4, [i, i, i]);
    const ix = await readMvtec(dir);
    const shards = planShards(trainItems(ix), { maxPerShard: 2, seed: 1 });
    assert.equal(shards.length, 6);
    const workers = assignShards(shards, 2);
    const ids = workers[0].shards.flatMap((s) => s.items);
    const samples = samplesById(ix, ids);
    assert.deepEqual(samples.map((s) => s.id), ids);
    assert.ok(samples.every((s) => s.split === 'train' && s.image.endsWith(s.id)));
    assert.throws(() => samplesById(ix, ['a/train/good/99.png']), (e: unknown) => e instanceof DataError && /no sample with id 'a\/train\/good\/99\.png'/.test(e.message));
  } finally {
    await cleanup();
  }
});
