// The README's command lines, as a user pastes them: every `npx pmamba …` line is taken from
// README.md itself and run through the real bin (`npx pmamba`, as after `npm ci`) — with
// `--help`, checking that the command exists and knows every flag and choice the README gives it
// — and the ones that need no Redis, store or network run for real on tiny data. `npm run X`
// lines must name a script of package.json; `npx tsx FILE` lines in README.md and docs/ must
// name a file that exists. So the README cannot drift from the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commandLines } from './support/markdown.ts';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);
const npx = (args: string[]) => run('npx', args, { cwd: ROOT, maxBuffer: 1 << 24, env: { ...process.env, FORCE_COLOR: '0' } });
let dir: string;

before(() => { dir = mkdtempSync(join(tmpdir(), 'pmamba-readme-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

/** A README `npx pmamba` line's command path, flags and listed choices. */
function parseCliLine(line: string): { verbs: string[]; flags: string[]; choices: string[] } {
  const tokens = line.split(/\s+/).slice(2); // after `npx pmamba`
  const verbs: string[] = [];
  while (tokens.length && /^[a-z][a-z-]*$/.test(tokens[0])) verbs.push(tokens.shift()!);
  const flags: string[] = [];
  const choices: string[] = [];
  let afterFlag = false;
  for (const raw of tokens) {
    const t = raw.replace(/^\[+|\]+$/g, '');
    if (/^--?[a-zA-Z][\w-]*$/.test(t)) {
      flags.push(t);
      afterFlag = true;
      continue;
    }
    // A positional written as a|b|c lists the command's choices (a flag's a|b|c may be free text).
    if (!afterFlag && t.includes('|') && t.split('|').every((c) => /^[a-z0-9][\w.]*$/.test(c))) choices.push(...t.split('|'));
    afterFlag = false;
  }
  return { verbs, flags, choices };
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const lines = commandLines(readme);
const cliLines = lines.filter((l) => l.startsWith('npx pmamba '));

test('the README gives the two commands and CLI lines, and they parse', () => {
  assert.ok(lines.includes('npm ci') && lines.includes('npm run demo'), 'npm ci && npm run demo');
  assert.ok(lines.includes('npm test'), 'npm test');
  assert.ok(cliLines.length >= 8, `found ${cliLines.length} npx pmamba lines`);
  assert.deepEqual(parseCliLine('npx pmamba weights fetch a|b.c [--out FILE] [--url MIRROR [--sha256 HEX]]'), { verbs: ['weights', 'fetch'], flags: ['--out', '--url', '--sha256'], choices: ['a', 'b.c'] });
  assert.deepEqual(parseCliLine('npx pmamba train -c x.yaml [--backend auto|wasm]'), { verbs: ['train'], flags: ['-c', '--backend'], choices: [] });
});

test('every npm line of the README names a script package.json has', () => {
  const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
  assert.ok(existsSync(join(ROOT, 'package-lock.json')), 'npm ci needs package-lock.json');
  for (const line of lines.filter((l) => l.startsWith('npm '))) {
    const m = /^npm (?:run (\S+)|(test))\b/.exec(line);
    if (!m) continue; // npm ci, npm link: npm's own
    assert.ok(scripts[m[1] ?? m[2]], `${line}: no script ${m[1] ?? m[2]} in package.json`);
  }
  // The prose's `npm run pmamba -- <verb> …` too.
  for (const m of readme.matchAll(/`npm run ([\w:-]+)/g)) assert.ok(scripts[m[1]], `npm run ${m[1]}: no such script`);
});

test('every npx tsx line of the README and docs/ names a file that exists', () => {
  const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  let checked = 0;
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const m of text.matchAll(/npx tsx (\S+\.ts)/g)) {
      assert.ok(existsSync(join(ROOT, m[1])), `${doc}: npx tsx ${m[1]}: no such file`);
      checked++;
    }
  }
  assert.ok(checked > 0);
});

for (const line of cliLines) {
  test(`README: ${line.slice(0, 90)}`, { timeout: 60_000 }, async () => {
    const { verbs, flags, choices } = parseCliLine(line);
    assert.ok(verbs.length > 0, `no command in ${line}`);
    const { stdout } = await npx(['pmamba', ...verbs, '--help']);
    assert.match(stdout, new RegExp(`^pmamba ${verbs.join(' ')}\\b`, 'm'), `pmamba ${verbs.join(' ')} --help shows its usage`);
    for (const flag of flags) {
      assert.match(stdout, new RegExp(`(^|[\\s,])${flag}([\\s,]|$)`, 'm'), `${flag} is not an option of pmamba ${verbs.join(' ')}`);
    }
    for (const choice of choices) assert.ok(stdout.includes(`"${choice}"`), `${choice} is not a choice of pmamba ${verbs.join(' ')}`);
  });
}

test('the README lines that need no services run as written on tiny data', { timeout: 120_000 }, async () => {
  // Placeholders the README uses, and the tiny values they take here.
  const values: Record<string, string> = { DIR: join(dir, 'synth'), ROOT: join(dir, 'synth'), N: '1', S: '32', K: '2', M: '2', X: '3' };
  const asWritten = (prefix: string) => {
    const line = cliLines.find((l) => l.startsWith(prefix));
    assert.ok(line, `README has no line starting ${prefix}`);
    return line.split(/\s+/).slice(1).map((t) => values[t] ?? t);
  };
  const synth = await npx(asWritten('npx pmamba dataset synth'));
  assert.match(synth.stdout + synth.stderr, /wrote \d+ images/);
  assert.ok(existsSync(join(dir, 'synth', 'pmamba-synth.json')));
  const inspect = await npx(asWritten('npx pmamba dataset inspect'));
  assert.match(inspect.stdout, /carpet/);
  const list = await npx(asWritten('npx pmamba weights list'));
  assert.match(list.stdout, /resnet18/);
});
