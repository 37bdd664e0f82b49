/**
 * A tiny training run for service tests: a synthetic set of 32×32 images, the small model with
 * pyramid levels that fit 32², two rounds of two steps. The coordinator runs in the test's
 * process; workers run in-process (sandboxed children) or as `pmamba worker` processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseRunConfig, type RunConfig, type RunConfigInput } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'packages/cli/src/main.ts');

/** A config for a tiny run; `patch` overrides sections (shallowly merged per section). */
export function tinyConfig(dataRoot: string, storeUrl: string, patch: { [K in keyof RunConfigInput]?: Partial<NonNullable<RunConfigInput[K]>> } = {}): RunConfig {
  const base: RunConfigInput = {
    version: 1,
    run: { name: 'tiny' },
    dataset: { root: dataRoot, imageSize: 32, synthetic: { classes: 2, size: 32, train: 4, test: 6, seed: 3 } },
    // A self-made teacher from a few pretraining steps: the real path, kept cheap.
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] }, teacher: { init: 'self-supervised', pretrain: { steps: 3, batchSize: 2, checkpointEverySteps: 1 } } },
    training: { mode: 'unified', rounds: 2, localSteps: 2, batchSize: 2, workers: 2, checkpointEverySteps: 1, seed: 5 },
    evaluation: { batchSize: 6, heatmaps: 1, blurSigma: 1 },
    store: { url: storeUrl },
  };
  const merged = Object.fromEntries(
    Object.entries(base).map(([k, v]) => [k, typeof v === 'object' && v !== null ? { ...v, ...(patch as Record<string, object>)[k] } : v]),
  );
  return parseRunConfig(merged, 'tiny test config');
}

/** Every object under `prefix` read back and checked against its recorded sha256. */
export async function verifyAll(store: ArtifactStore, prefix: string): Promise<number> {
  const objects = await store.list(prefix);
  for (const o of objects) await store.verify(o.key);
  return objects.length;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Lines it printed so far. */
  lines: string[];
  exited: Promise<number | null>;
}

/** Starts `pmamba worker` as a process of its own. */
export function spawnWorker(args: { redisUrl: string; prefix: string; storeUrl: string; env?: Record<string, string>; extra?: string[] }): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'worker', '--redis', args.redisUrl, '--prefix', args.prefix, '--store', args.storeUrl, '--backend', 'wasm', ...(args.extra ?? [])],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...args.env } },
  );
  const lines: string[] = [];
  for (const s of [child.stdout, child.stderr]) if (s) createInterface({ input: s }).on('line', (l) => lines.push(l));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exited };
}
