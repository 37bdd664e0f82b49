import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateKey, validatePrefix, joinKey } from '../src/key-path.ts';

describe('key syntax', () => {
  it('accepts relative slash-separated keys', () => {
    // The store knows no run layout (that is @pmamba/protocol's layout): any valid key will do.
    for (const key of ['a', 'a/b/c.bin', 'runs/x/rounds/0/j.safetensors', 'dots.in.name', '.hidden', 'sp ace/é/𝔸', '..a/b..']) {
      assert.equal(validateKey(key), key);
    }
  });

  it('rejects escapes and unsafe characters, naming the key and the reason', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['..', /"\.\." segment/],
      ['a/../b', /"\.\." segment/],
      ['./a', /"\." segment/],
      ['/abs', /absolute/],
      ['C:/win', /absolute/],
      ['a\\..\\b', /backslash/],
      ['a\0b', /NUL/],
      ['a\nb', /control/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a/.pmamba-tmp.x', /reserved/],
      ['\ud800', /Unicode/],
      ['x'.repeat(201), /segment is longer/],
      [`${'x/'.repeat(600)}x`, /longer than 1024/],
    ];
    for (const [key, why] of cases) {
      assert.throws(() => validateKey(key), (err: { code?: string; key?: string; message?: string }) => {
        assert.equal(err.code, 'E_STORE_KEY');
        assert.equal(err.key, key);
        assert.match(err.message ?? '', why, `${JSON.stringify(key)}: ${err.message}`);
        return true;
      });
    }
    assert.throws(() => validateKey(42), { code: 'E_STORE_KEY' });
  });

  it('accepts listing prefixes that end mid-segment or with a slash', () => {
    for (const prefix of ['', 'runs/', 'runs/ab', 'runs/a/rounds/1']) assert.equal(validatePrefix(prefix), prefix);
    for (const prefix of ['/runs', '../', 'runs//', 'runs/..', 'a\\b']) {
      assert.throws(() => validatePrefix(prefix), { code: 'E_STORE_KEY' }, prefix);
    }
    assert.equal(joinKey('', 'k'), 'k');
    assert.equal(joinKey('p/q', 'k'), 'p/q/k');
  });
});
