import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openStore } from '../src/index.ts';
import { LocalArtifactStore } from '../src/local-store.ts';
import { validateKey } from '../src/key-path.ts';
import { fuzzKeys, rejectsWith, storeContract } from './support/contract.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

storeContract('local folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-local-store-'));
  const store = await LocalArtifactStore.open(join(dir, 'artifacts'));
  return {
    store,
    tamper: (key, bytes) => writeFile(join(store.root, ...key.split('/')), bytes),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('local folder store', () => {
  let dir: string;
  let root: string;
  let store: LocalArtifactStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pmamba-local-'));
    root = join(dir, 'store');
    store = await LocalArtifactStore.open(root);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps objects as plain files that can be browsed, hashes in hidden sidecars', async () => {
    await store.putBytes('runs/a/run.json', Buffer.from('{"id":"a"}'));
    assert.equal(await readFile(join(root, 'runs', 'a', 'run.json'), 'utf8'), '{"id":"a"}');
    assert.deepEqual((await readdir(join(root, 'runs', 'a'))).sort(), ['.pmamba-meta.run.json.json', 'run.json']);
    assert.deepEqual((await store.list('runs/')).map((o) => o.key), ['runs/a/run.json']);
  });

  it('is opened by file:// URLs, relative to the working directory or absolute', async () => {
    const relativeStore = await openStore('file://./rel/artifacts', { cwd: dir });
    assert.equal(relativeStore.url, pathToFileURL(join(dir, 'rel', 'artifacts')).href);
    await relativeStore.putBytes('k.bin', Buffer.from('rel'));
    assert.equal(await readFile(join(dir, 'rel', 'artifacts', 'k.bin'), 'utf8'), 'rel');
    const absoluteStore = await openStore(pathToFileURL(join(dir, 'rel', 'artifacts')).href);
    assert.equal(Buffer.from(await absoluteStore.getBytes('k.bin')).toString(), 'rel');
  });

  it('leaves the previous object intact and no temp files when a write fails', async () => {
    await store.putBytes('atomic/x.bin', Buffer.from('old'));
    await rejectsWith(store.putFile('atomic/x.bin', join(dir, 'no-such-source.bin')), 'E_STORE_IO', 'atomic/x.bin');
    assert.equal(Buffer.from(await store.getBytes('atomic/x.bin')).toString(), 'old');
    assert.deepEqual((await readdir(join(root, 'atomic'))).sort(), ['.pmamba-meta.x.bin.json', 'x.bin']);
  });

  it('never shows a partial object to a concurrent reader', async () => {
    const small = randomBytes(1000);
    const large = randomBytes(3_000_000);
    await store.putBytes('race/x.bin', small);
    const seen = new Set<number>();
    let reads = 0;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 20; i++) await store.putBytes('race/x.bin', i % 2 ? small : large);
      writing = false;
    })();
    while (writing) {
      const bytes = await store.getBytes('race/x.bin');
      seen.add(bytes.byteLength);
      reads++;
    }
    await writer;
    assert.ok(reads >= 10, `the reader ran alongside the writer (${reads} reads)`);
    assert.deepEqual([...seen].sort(), [small.length, large.length].sort());
  });

  it('treats a file without a recorded hash as unverifiable, not as valid', async () => {
    await mkdir(join(root, 'foreign'), { recursive: true });
    await writeFile(join(root, 'foreign', 'dropped-in.bin'), 'x');
    assert.equal((await store.head('foreign/dropped-in.bin'))?.sha256, undefined);
    await rejectsWith(store.getBytes('foreign/dropped-in.bin'), 'E_HASH_MISSING', 'foreign/dropped-in.bin');
  });

  it('refuses keys that pass through a symlink leading outside the store', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await symlink(outside, join(root, 'link'));
    await rejectsWith(store.putBytes('link/planted.bin', Buffer.from('x')), 'E_STORE_KEY', 'link/planted.bin');
    await rejectsWith(store.getBytes('link/secret.txt'), 'E_STORE_KEY', 'link/secret.txt');
    await rejectsWith(store.head('link/secret.txt'), 'E_STORE_KEY', 'link/secret.txt');
    await symlink(join(outside, 'secret.txt'), join(root, 'file-link.bin'));
    await rejectsWith(store.getBytes('file-link.bin'), 'E_STORE_KEY', 'file-link.bin');
    await rejectsWith(store.delete('file-link.bin'), 'E_STORE_KEY', 'file-link.bin');
    assert.deepEqual(await readdir(outside), ['secret.txt']);
    // A link that stays inside the store is followed.
    await store.putBytes('real/inside.bin', Buffer.from('inside'));
    await symlink(join(root, 'real'), join(root, 'alias'));
    assert.equal(Buffer.from(await store.getBytes('alias/inside.bin')).toString(), 'inside');
  });

  it('writes nothing outside its folder whatever the key (fuzzed)', async () => {
    const sandbox = await mkdtemp(join(tmpdir(), 'pmamba-fuzz-'));
    try {
      const fuzzRoot = join(sandbox, 'store');
      const fuzzStore = await LocalArtifactStore.open(fuzzRoot);
      await mkdir(join(sandbox, 'neighbour'));
      let accepted = 0;
      for (const key of fuzzKeys(400, 20240611)) {
        try {
          await fuzzStore.putBytes(key, Buffer.from('fuzz'));
        } catch (err) {
          const e = err as { code?: string; key?: string };
          assert.ok(e.code === 'E_STORE_KEY' || e.code === 'E_STORE_IO', `unexpected ${e.code} for ${JSON.stringify(key)}`);
          if (e.code === 'E_STORE_KEY') assert.equal(e.key, key);
          continue;
        }
        accepted++;
        assert.equal(validateKey(key), key);
        assert.equal(Buffer.from(await fuzzStore.getBytes(key)).toString(), 'fuzz');
      }
      assert.ok(accepted > 10, `some fuzzed keys are valid (${accepted})`);
      for (const file of await filesUnder(sandbox)) {
        assert.ok(relative(sandbox, file).startsWith(`store${sep}`), `written outside the store: ${file}`);
      }
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
  });
});
