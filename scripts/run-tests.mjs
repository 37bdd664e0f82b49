// Runs every *.test.ts under packages/*/test and test/ with node's test runner (via tsx).
// Usage: npm test [-- <path filter>...]   e.g. npm test -- metrics
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const roots = [...readdirSync('packages').map((p) => join('packages', p, 'test')), 'test'];
const filters = process.argv.slice(2);
const files = roots
  .filter((r) => { try { return statSync(r).isDirectory(); } catch { return false; } })
  .flatMap(walk)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '1';
const r = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit' });
process.exit(r.status ?? 1);
