/**
 * Mutation fuzzing: start from valid configs and payloads, break one or more fields in ways
 * that are always invalid, and require a rejection whose issues name every broken field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  PayloadError, QUEUE_NAMES, loadRunConfig, parseJobPayload, parseJobResult, parseRunConfig, type QueueName,
} from '../src/index.ts';
import { ConfigError, type FieldIssue } from '../src/errors.ts';
import { PAYLOADS, RESULTS } from './support/examples.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

interface Mutation {
  kind: 'wrong-type' | 'negative' | 'unknown-field' | 'delete';
  path: Path;
  /** The field path the rejection must name. */
  reported: string;
}

const UNKNOWN = 'zzUnknownField';

function rng(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    return state % n;
  };
}

/** Every node under `value` with its path (the root excluded). */
function nodes(value: Json, path: Path = []): { path: Path; value: Json }[] {
  const out: { path: Path; value: Json }[] = path.length ? [{ path, value }] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...nodes(v, [...path, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...nodes(v, [...path, k]));
  return out;
}

function mutationsOf(doc: Json, skip: (path: string) => boolean, required: string[]): Mutation[] {
  const out: Mutation[] = [];
  for (const { path, value } of nodes(doc)) {
    const dotted = path.join('.');
    if (skip(dotted)) continue;
    out.push({ kind: 'wrong-type', path, reported: dotted });
    if (typeof value === 'number') out.push({ kind: 'negative', path, reported: dotted });
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out.push({ kind: 'unknown-field', path, reported: `${dotted}.${UNKNOWN}` });
    }
  }
  out.push({ kind: 'unknown-field', path: [], reported: UNKNOWN });
  for (const r of required) out.push({ kind: 'delete', path: r.split('.'), reported: r });
  return out;
}

function apply(doc: Json, m: Mutation): Json {
  const copy = structuredClone(doc);
  if (m.path.length === 0) {
    (copy as Record<string, Json>)[UNKNOWN] = 1;
    return copy;
  }
  let parent = copy as Record<string | number, Json>;
  for (const key of m.path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = m.path[m.path.length - 1];
  const value = parent[last];
  switch (m.kind) {
    case 'wrong-type':
      parent[last] = typeof value === 'string' ? 12345 : typeof value === 'number' ? 'oops' : value === true || value === false ? 'yes' : 'oops';
      break;
    case 'negative':
      parent[last] = -1;
      break;
    case 'unknown-field':
      (value as Record<string, Json>)[UNKNOWN] = 1;
      break;
    case 'delete':
      delete parent[last];
      break;
  }
  return copy;
}

/** Runs `parse` on `input` and returns the issues of the expected error class. */
function rejection(parse: () => unknown, errorClass: typeof ConfigError | typeof PayloadError): { issues: readonly FieldIssue[]; message: string } {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof errorClass, `unexpected ${String(err)}`);
    return { issues: err.issues, message: err.message };
  }
  return { issues: [], message: '' };
}

function checkNamed(label: string, reported: string[], result: { issues: readonly FieldIssue[]; message: string }): void {
  const paths = result.issues.map((i) => i.path);
  for (const path of reported) {
    assert.ok(paths.includes(path), `${label}: expected an issue at ${path}, got ${JSON.stringify(result.issues)}`);
    assert.ok(result.message.includes(`${path}: `), `${label}: the message names ${path}:\n${result.message}`);
  }
  for (const issue of result.issues) assert.ok(issue.message.length > 5, `${label}: a message that says something: ${JSON.stringify(issue)}`);
}

/** Picks mutations on paths that do not contain one another, so each stays visible. */
function independent(all: Mutation[], count: number, next: (n: number) => number): Mutation[] {
  const picked: Mutation[] = [];
  for (let tries = 0; picked.length < count && tries < 50; tries++) {
    const m = all[next(all.length)];
    const p = m.path.join('.');
    const clash = picked.some((q) => {
      const r = q.path.join('.');
      return p === r || p.startsWith(`${r}.`) || r.startsWith(`${p}.`) || p === '' || r === '';
    });
    if (!clash) picked.push(m);
  }
  return picked;
}

describe('config fuzzing', async () => {
  const quickstart = await loadRunConfig(fileURLToPath(new URL('../../../configs/quickstart.yaml', import.meta.url)));
  // The parsed config (all defaults present) is itself a valid config with the most fields to break.
  const base = JSON.parse(JSON.stringify(quickstart)) as Json;
  // The model block is passed through to the model package (extra fields included); only its preset is ours.
  const skip = (path: string) => path.startsWith('model.') && path !== 'model.preset';
  const mutations = mutationsOf(base, skip, ['dataset', 'training', 'dataset.root', 'training.rounds']).filter(
    (m) => !(m.kind === 'unknown-field' && m.reported === `model.${UNKNOWN}`),
  );

  it('rejects every single-field mutation, naming the field', () => {
    assert.ok(mutations.length > 80, `${mutations.length} mutations`);
    for (const m of mutations) {
      const result = rejection(() => parseRunConfig(apply(base, m)), ConfigError);
      checkNamed(`${m.kind} ${m.reported}`, [m.reported], result);
    }
  });

  it('names every field when several are broken at once', () => {
    const next = rng(1234);
    for (let round = 0; round < 300; round++) {
      const picked = independent(mutations.filter((m) => m.kind !== 'delete'), 1 + next(4), next);
      const input = picked.reduce(apply, base);
      const result = rejection(() => parseRunConfig(input), ConfigError);
      checkNamed(`round ${round}: ${picked.map((m) => `${m.kind} ${m.reported}`).join(', ')}`, picked.map((m) => m.reported), result);
    }
  });
});

describe('payload and result fuzzing', () => {
  const queues = Object.values(QUEUE_NAMES) as QueueName[];

  it('rejects every single-field mutation of every payload and result, naming the queue and field', () => {
    let checked = 0;
    for (const queue of queues) {
      for (const [kind, doc, parse] of [
        ['payload', PAYLOADS[queue], parseJobPayload],
        ['result', RESULTS[queue], parseJobResult],
      ] as const) {
        const base = doc as unknown as Json;
        parse(queue, base);
        for (const m of mutationsOf(base, () => false, [])) {
          const result = rejection(() => parse(queue, apply(base, m), 'job-1'), PayloadError);
          checkNamed(`${queue} ${kind} ${m.kind} ${m.reported}`, [m.reported], result);
          assert.ok(result.message.includes(`${queue} job job-1`), result.message);
          checked++;
        }
      }
    }
    assert.ok(checked > 150, `${checked} mutations`);
  });

  it('rejects keys that would leave the store and malformed hashes', () => {
    const badKeys = ['../../etc/passwd', '/abs/key', 'a//b', 'a/./b', 'a\\b', 'a/', 'a/..', 'k\u0000', ''];
    for (const key of badKeys) {
      const payload = { ...PAYLOADS['train-shard'], outputKey: key };
      const result = rejection(() => parseJobPayload('train-shard', payload), PayloadError);
      checkNamed(`outputKey ${JSON.stringify(key)}`, ['outputKey'], result);
    }
    for (const sha256 of ['A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64), '']) {
      const payload = { ...PAYLOADS.evaluate, weights: { ...PAYLOADS.evaluate.weights, sha256 } };
      checkNamed(`sha256 ${sha256}`, ['weights.sha256'], rejection(() => parseJobPayload('evaluate', payload), PayloadError));
    }
  });

  it('rejects random garbage with an error, never a crash', () => {
    const next = rng(99);
    const atoms: unknown[] = [null, 0, -1, 1.5, '', 'x', true, [], {}, Number.NaN, Number.POSITIVE_INFINITY, '../x'];
    const garbage = (depth: number): unknown => {
      if (depth === 0 || next(3) === 0) return atoms[next(atoms.length)];
      if (next(2) === 0) return Array.from({ length: next(4) }, () => garbage(depth - 1));
      return Object.fromEntries(Array.from({ length: next(5) }, (_, i) => [['runId', 'round', 'shards', 'weights', `k${i}`][next(5)], garbage(depth - 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const queue = queues[next(queues.length)];
      const result = rejection(() => parseJobPayload(queue, garbage(3)), PayloadError);
      assert.ok(result.issues.length > 0);
    }
  });
});
