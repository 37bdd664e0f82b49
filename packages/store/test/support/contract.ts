/**
 * Behaviour every ArtifactStore must have, run against each implementation by its own test
 * file. `tamper` changes an object's bytes behind the store's back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256, type ArtifactStore } from '../../src/index.ts';
import { type StoreErrorCode } from '../../src/errors.ts';
import { readManifest, writeManifest } from './manifest.ts';

export interface ContractFixture {
  store: ArtifactStore;
  /** Replaces the stored bytes of `key` without updating its recorded hash. */
  tamper(key: string, bytes: Uint8Array): Promise<void>;
  teardown(): Promise<void>;
}

/** Asserts that `promise` rejects with a StoreError of `code` about `key`, whose message names it. */
export async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode, key?: string): Promise<void> {
  await assert.rejects(promise, (err: { code?: string; key?: string; message?: string }) => {
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (key !== undefined) {
      assert.equal(err.key, key);
      assert.ok(err.message?.includes(JSON.stringify(key).slice(1, 40)), `message should name the key: ${err.message}`);
    }
    return true;
  });
}

export function storeContract(name: string, setup: () => Promise<ContractFixture>): void {
  describe(`${name}: ArtifactStore contract`, () => {
    let fx: ContractFixture;
    let store: ArtifactStore;
    let scratch: string;

    before(async () => {
      fx = await setup();
      store = fx.store;
      scratch = await mkdtemp(join(tmpdir(), 'pmamba-store-scratch-'));
    });
    after(async () => {
      await fx.teardown();
      await rm(scratch, { recursive: true, force: true });
    });

    it('round-trips bytes and reports their size and sha256', async () => {
      const bytes = randomBytes(4099);
      const written = await store.putBytes('runs/r1/rounds/0/job-a.safetensors', bytes);
      assert.deepEqual(written, { key: 'runs/r1/rounds/0/job-a.safetensors', size: 4099, sha256: sha256(bytes) });
      assert.deepEqual(Buffer.from(await store.getBytes(written.key)), bytes);
      const info = await store.head(written.key);
      assert.equal(info?.size, 4099);
      assert.equal(info?.sha256, sha256(bytes));
      assert.equal(info?.contentType, 'application/octet-stream');
      assert.equal(await store.exists(written.key), true);
      assert.equal(await store.exists('runs/r1/rounds/0/job-b.safetensors'), false);
      assert.equal(await store.head('runs/r1/rounds/0/job-b.safetensors'), undefined);
    });

    it('round-trips an empty object', async () => {
      await store.putBytes('empty/zero.bin', new Uint8Array(0));
      assert.equal((await store.getBytes('empty/zero.bin')).byteLength, 0);
      assert.equal((await store.head('empty/zero.bin'))?.sha256, sha256(new Uint8Array(0)));
    });

    it('overwrites an object as a whole', async () => {
      await store.putBytes('over/x.bin', Buffer.from('first version, longer'));
      await store.putBytes('over/x.bin', Buffer.from('second'));
      assert.equal(Buffer.from(await store.getBytes('over/x.bin')).toString(), 'second');
      assert.equal((await store.head('over/x.bin'))?.size, 6);
    });

    it('puts a file and gets it back into a new folder', async () => {
      const source = join(scratch, 'source.bin');
      const bytes = randomBytes(70_000);
      await writeFile(source, bytes);
      const written = await store.putFile('files/source.bin', source);
      assert.equal(written.sha256, sha256(bytes));
      const target = join(scratch, 'deep', 'er', 'copy.bin');
      const read = await store.getToFile('files/source.bin', target);
      assert.deepEqual(read, written);
      assert.deepEqual(await readFile(target), bytes);
      assert.deepEqual(await store.verify('files/source.bin'), written);
      // No temp files are left beside the destination.
      assert.deepEqual(await readdir(join(scratch, 'deep', 'er')), ['copy.bin']);
    });

    it('writes and reads JSON, with an optional parser', async () => {
      const record = { runId: 'r1', round: 3, loss: 0.125, classes: ['bottle', 'cable'] };
      await store.putJson('runs/r1/run.json', record);
      assert.deepEqual(await store.getJson('runs/r1/run.json'), record);
      assert.equal((await store.head('runs/r1/run.json'))?.contentType, 'application/json');
      const round = await store.getJson('runs/r1/run.json', (v) => (v as { round: number }).round);
      assert.equal(round, 3);
      await store.putBytes('runs/r1/broken.json', Buffer.from('{"runId": '));
      await rejectsWith(store.getJson('runs/r1/broken.json'), 'E_STORE_JSON', 'runs/r1/broken.json');
    });

    it('lists by prefix, sorted, with S3 prefix semantics', async () => {
      for (const key of ['ls/b/2.bin', 'ls/a/1.bin', 'ls/a/0.bin', 'ls/ab/3.bin', 'ls/c.bin']) {
        await store.putBytes(key, Buffer.from(key));
      }
      const keys = async (prefix: string) => (await store.list(prefix)).map((o) => o.key);
      assert.deepEqual(await keys('ls/'), ['ls/a/0.bin', 'ls/a/1.bin', 'ls/ab/3.bin', 'ls/b/2.bin', 'ls/c.bin']);
      assert.deepEqual(await keys('ls/a/'), ['ls/a/0.bin', 'ls/a/1.bin']);
      assert.deepEqual(await keys('ls/a'), ['ls/a/0.bin', 'ls/a/1.bin', 'ls/ab/3.bin']);
      assert.deepEqual(await keys('ls/c'), ['ls/c.bin']);
      assert.deepEqual(await keys('ls/none/'), []);
      assert.deepEqual(await keys('nothing-here'), []);
      const listed = await store.list('ls/a/0');
      assert.equal(listed[0].size, 'ls/a/0.bin'.length);
      assert.ok((await keys('')).includes('ls/c.bin'));
    });

    it('deletes, idempotently; a deleted key reads as not found', async () => {
      await store.putBytes('del/x.bin', Buffer.from('x'));
      await store.delete('del/x.bin');
      await store.delete('del/x.bin');
      assert.equal(await store.exists('del/x.bin'), false);
      await rejectsWith(store.getBytes('del/x.bin'), 'E_NOT_FOUND', 'del/x.bin');
      await rejectsWith(store.getToFile('del/x.bin', join(scratch, 'never.bin')), 'E_NOT_FOUND', 'del/x.bin');
      await assert.rejects(stat(join(scratch, 'never.bin')), { code: 'ENOENT' });
      assert.deepEqual(await store.list('del/'), []);
    });

    it('detects a tampered object on every read path, naming the key', async () => {
      const key = 'runs/r1/rounds/1/job-t.safetensors';
      const bytes = randomBytes(2048);
      await store.putBytes(key, bytes);
      const forged = Buffer.from(bytes);
      forged[100] ^= 0xff;
      await fx.tamper(key, forged);
      await rejectsWith(store.getBytes(key), 'E_HASH_MISMATCH', key);
      await rejectsWith(store.verify(key), 'E_HASH_MISMATCH', key);
      const target = join(scratch, 'tampered.bin');
      await writeFile(target, 'previous content');
      await rejectsWith(store.getToFile(key, target), 'E_HASH_MISMATCH', key);
      assert.equal(await readFile(target, 'utf8'), 'previous content', 'a failed verification leaves the destination alone');
    });

    it('rejects keys that could leave the store, on every operation', async () => {
      const bad = ['../escape.bin', 'a/../../b', '/etc/passwd', 'a\\b', 'a\0b', 'a//b', 'a/', '', './a', 'C:/x', '.pmamba-meta.x'];
      for (const key of bad) {
        await rejectsWith(store.putBytes(key, Buffer.from('x')), 'E_STORE_KEY', key);
        await rejectsWith(store.getBytes(key), 'E_STORE_KEY', key);
        await rejectsWith(store.head(key), 'E_STORE_KEY', key);
        await rejectsWith(store.delete(key), 'E_STORE_KEY', key);
        await rejectsWith(store.putFile(key, join(scratch, 'source.bin')), 'E_STORE_KEY', key);
      }
      await rejectsWith(store.list('../'), 'E_STORE_KEY', '../');
    });

    it('manifests cite objects and catch later replacement', async () => {
      const a = await store.putBytes('runs/m/rounds/0/a.safetensors', randomBytes(300));
      await store.putBytes('runs/m/rounds/0/b.safetensors', randomBytes(400));
      await writeManifest(store, 'runs/m/rounds/0/merged/unified.manifest.json', [a, 'runs/m/rounds/0/b.safetensors']);
      const manifest = await readManifest(store, 'runs/m/rounds/0/merged/unified.manifest.json', 'content');
      assert.deepEqual(
        manifest.entries.map((e) => [e.key, e.size]),
        [
          ['runs/m/rounds/0/a.safetensors', 300],
          ['runs/m/rounds/0/b.safetensors', 400],
        ],
      );
      await store.putBytes('runs/m/rounds/0/b.safetensors', randomBytes(400));
      await rejectsWith(readManifest(store, 'runs/m/rounds/0/merged/unified.manifest.json'), 'E_HASH_MISMATCH', 'runs/m/rounds/0/b.safetensors');
      await rejectsWith(writeManifest(store, 'runs/m/x.json', ['runs/m/missing.bin']), 'E_NOT_FOUND', 'runs/m/missing.bin');
      await rejectsWith(writeManifest(store, 'runs/m/x.json', [a, a.key]), 'E_MANIFEST', a.key);
      await rejectsWith(readManifest(store, 'runs/never/manifest.json'), 'E_NOT_FOUND', 'runs/never/manifest.json');
    });
  });
}

/** Keys built from dangerous pieces; some valid, most not. Deterministic for a given seed. */
export function fuzzKeys(count: number, seed: number): string[] {
  const pieces = [
    '..', '.', '', '/', '//', '\\', '\0', '\n', '\u007f', '%2e%2e', '%2f', '~', 'C:', 'a', 'b', 'run-1', 'rounds', '0',
    ' ', 'é', '𝔸', '\ud800', '.pmamba-meta.x', '.hidden', 'x'.repeat(210), '..a', 'a..', '...', '*', '?', ':', '<>',
  ];
  let state = seed >>> 0;
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const parts = 1 + next(6);
    let key = '';
    for (let p = 0; p < parts; p++) key += pieces[next(pieces.length)] + (next(3) === 0 ? '' : '/');
    out.push(key);
  }
  return out;
}
