import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchPlan, stepsOf } from '../src/train/batch-plan.ts';

const items = ['a', 'b', 'c', 'd', 'e'];

describe('batchPlan', () => {
  it('covers every image once per pass, in a seeded order', () => {
    const plan = batchPlan(items, 2, 5, 42);
    assert.equal(plan.length, 5);
    assert.ok(plan.every((b) => b.length === 2));
    // 10 draws = two passes over five images.
    const flat = plan.flat();
    assert.deepEqual(flat.slice(0, 5).sort(), items);
    assert.deepEqual(flat.slice(5).sort(), items);
    assert.deepEqual(batchPlan(items, 2, 5, 42), plan);
    assert.notDeepEqual(batchPlan(items, 2, 5, 43), plan);
  });

  it('caps the batch at the number of images', () => {
    assert.deepEqual(batchPlan(['x'], 4, 2, 1), [['x'], ['x']]);
  });

  it('turns local epochs into steps', () => {
    const shards = [{ id: 'a/0', className: 'a', index: 0, items }];
    assert.equal(stepsOf({ shards, localEpochs: 2 }, 2), 5);
    assert.equal(stepsOf({ shards, localSteps: 7 }, 2), 7);
  });
});
