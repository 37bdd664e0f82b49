import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// docs/architecture.md states which package imports which; this holds the code to it (and the
// doc to the code): every `@pmamba/…` import in a package's src, static or dynamic, and every
// workspace dependency in its package.json.
const root = fileURLToPath(new URL('..', import.meta.url));

function documentedArrows(): Map<string, Set<string>> {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const block = /which package imports which[\s\S]*?```\n([\s\S]*?)```/i.exec(doc);
  assert.ok(block, 'docs/architecture.md has the package arrows block');
  const arrows = new Map<string, Set<string>>();
  for (const line of block[1].trim().split('\n')) {
    const [from, to] = line.split('→').map((s) => s.trim());
    arrows.set(from, new Set(to.split(',').map((t) => t.trim().replace(/ \(.*\)$/, ''))));
  }
  return arrows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importedPackages(pkg: string): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(join(root, 'packages', pkg, 'src'))) {
    // Usage examples in doc comments are not imports.
    const code = readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join('\n');
    for (const m of code.matchAll(/(?:from\s+|import\()\s*'@pmamba\/([a-z-]+(?:\/[a-z-]+)?)'/g)) found.add(m[1]);
  }
  found.delete(pkg);
  return found;
}

test('docs/architecture.md lists exactly the imports between packages', () => {
  const arrows = documentedArrows();
  const packages = readdirSync(join(root, 'packages')).filter((p) => statSync(join(root, 'packages', p, 'src')).isDirectory());
  for (const pkg of packages) {
    const documented = arrows.get(pkg) ?? new Set<string>();
    assert.deepEqual([...importedPackages(pkg)].sort(), [...documented].sort(), `imports of packages/${pkg}/src`);
    const manifest = JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const declared = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@pmamba/')).map((d) => d.slice('@pmamba/'.length));
    const needed = new Set([...documented].map((d) => d.split('/')[0]));
    assert.deepEqual(declared.sort(), [...needed].sort(), `@pmamba dependencies in packages/${pkg}/package.json`);
  }
});
