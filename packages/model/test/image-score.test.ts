import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageScore } from '../src/index.ts';

test('the image score is the map max, or the mean of its top fraction', () => {
  const map = Float32Array.from({ length: 200 }, (_, i) => (i * 37) % 200);
  assert.equal(imageScore(map), 199);
  // Top 1 % of 200 pixels: the two highest, 199 and 198.
  assert.equal(imageScore(map, 0.01), 198.5);
  // A fraction below one pixel is the max.
  assert.equal(imageScore(map, 0.001), 199);
  assert.equal(imageScore(map, 1), 99.5);
});
