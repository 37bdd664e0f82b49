// The shared vocabulary other packages import from protocol instead of keeping copies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ID_PATTERN, isImageName, METRIC_KEYS, METRIC_NAMES, runIdStamp } from '../src/index.ts';
import { ClassMetricsSchema } from '../src/metrics.ts';

describe('vocabulary', () => {
  it('stamps run ids with the UTC time as YYYYMMDD-HHMMSS, a valid id', () => {
    const stamp = runIdStamp(new Date('2025-01-31T12:34:56.789Z'));
    assert.equal(stamp, '20250131-123456');
    assert.match(`run-${stamp}`, ID_PATTERN);
  });

  it('treats every extension data can decode as an image, .webp included, in any case', () => {
    for (const name of ['a.png', 'a.JPG', 'a.jpeg', 'a.bmp', 'a.tif', 'a.TIFF', 'a.webp']) assert.ok(isImageName(name), name);
    for (const name of ['a.npy', 'a.txt', 'png', 'a.png.json']) assert.ok(!isImageName(name), name);
  });

  it('names the seven metrics and mAD last, and the metrics schema has exactly those keys', () => {
    assert.deepEqual(METRIC_NAMES, [...METRIC_KEYS, 'mad']);
    assert.deepEqual(Object.keys(ClassMetricsSchema.shape), [...METRIC_NAMES, 'extras', 'notes']);
  });
});
