/**
 * Expands a config's sweep grid into one validated run config per grid point. Overrides are
 * applied to the config as written (before defaults), so derived defaults such as the learning
 * rate follow the overridden values.
 */
import { ConfigError, type FieldIssue } from './errors.ts';
import { fieldIssues, formatIssues, showValue } from './issues.ts';
import { RunConfigSchema, type RunConfig } from './run-config.ts';
import type { SweepRange } from './sweep-schema.ts';
import { issueMessage } from './issues.ts';

export interface SweepVariant {
  /** Position in the grid, from 0. */
  index: number;
  /** `<run.id>-<index>` when the base config names its run; otherwise undefined. */
  runId: string | undefined;
  /** Dotted path → value for this grid point. */
  overrides: Record<string, unknown>;
  /** `path=value, …`, for names and reports. */
  label: string;
  /** The complete config of this variant (no sweep block). */
  config: RunConfig;
}

interface Source {
  name: string;
  lineOf(path: string): number | undefined;
}

function sweepError(source: Source, heading: string, issues: FieldIssue[]): ConfigError {
  const located = issues.map((i) => ({ ...i, line: i.line ?? source.lineOf(i.path) }));
  const lines = formatIssues(located, source.name)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return new ConfigError('E_SWEEP_INVALID', `${source.name}: ${heading}:\n${lines}`, { issues: located, file: source.name });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): string | undefined {
  const parts = path.split('.');
  let node = target;
  for (const [i, part] of parts.slice(0, -1).entries()) {
    if (node[part] === undefined) node[part] = {};
    const next = node[part];
    if (!isPlainObject(next)) return `${parts.slice(0, i + 1).join('.')} is ${showValue(next)}, not a mapping the sweep can set fields in`;
    node = next;
  }
  node[parts[parts.length - 1]] = structuredClone(value);
  return undefined;
}

/** mulberry32: a small seeded generator, so a random search draws the same variants every time. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw(spec: unknown[] | SweepRange, random: () => number): unknown {
  if (Array.isArray(spec)) return spec[Math.floor(random() * spec.length)];
  const u = random();
  const v = spec.log ? Math.exp(Math.log(spec.min) + u * (Math.log(spec.max) - Math.log(spec.min))) : spec.min + u * (spec.max - spec.min);
  // Six significant digits: readable labels, and the same value after a JSON round trip.
  return spec.int ? Math.round(v) : Number(v.toPrecision(6));
}

/** `samples` points drawn from `space` (paths in file order), the same for the same seed. */
function randomPoints(space: Record<string, unknown[] | SweepRange>, samples: number, seed: number): Record<string, unknown>[] {
  const random = seededRandom(seed);
  return Array.from({ length: samples }, () => Object.fromEntries(Object.entries(space).map(([path, spec]) => [path, draw(spec, random)])));
}

/** All grid points, in file order: the last path varies fastest. */
function gridPoints(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [path, values] of Object.entries(grid)) {
    points = points.flatMap((point) => values.map((value) => ({ ...point, [path]: value })));
  }
  return points;
}

/**
 * One config per grid point of `raw`'s sweep block (or just `raw` when it has none). Errors
 * (E_CONFIG_INVALID for the base, E_SWEEP_INVALID for a variant) name the variant and field.
 */
export function expandSweep(raw: unknown, source: Source | string = 'run config'): SweepVariant[] {
  const src: Source = typeof source === 'string' ? { name: source, lineOf: () => undefined } : source;
  const base = RunConfigSchema.safeParse(raw, { error: issueMessage });
  if (!base.success) throw sweepError(src, 'is not a valid run config', fieldIssues(base.error, raw, RunConfigSchema));
  const sweep = base.data.sweep;
  if (!sweep) return [{ index: 0, runId: base.data.run.id, overrides: {}, label: '', config: base.data }];

  const where = sweep.grid ? 'grid' : 'space';
  const points = sweep.grid ? gridPoints(sweep.grid) : randomPoints(sweep.space!, sweep.samples!, sweep.seed);
  return points.map((overrides, index) => {
    const label = Object.entries(overrides)
      .map(([path, value]) => `${path}=${JSON.stringify(value)}`)
      .join(', ');
    const variant = structuredClone(raw) as Record<string, unknown>;
    delete variant.sweep;
    for (const [path, value] of Object.entries(overrides)) {
      const problem = setPath(variant, path, value);
      if (problem) throw sweepError(src, `sweep variant ${index} (${label}) cannot be built`, [{ path: `sweep.${where}.${path}`, message: problem }]);
    }
    const run = isPlainObject(variant.run) ? { ...variant.run } : {};
    const runId = base.data.run.id === undefined ? undefined : `${base.data.run.id}-${index}`;
    if (runId !== undefined) run.id = runId;
    if (base.data.run.name !== undefined) run.name = `${base.data.run.name} (${label})`.slice(0, 200);
    variant.run = run;
    const parsed = RunConfigSchema.safeParse(variant, { error: issueMessage });
    if (!parsed.success) {
      // Point at the grid entry that produced a bad value, and say which field it broke.
      const issues = fieldIssues(parsed.error, variant, RunConfigSchema).map((issue) => {
        const culprit = Object.keys(overrides).find((p) => issue.path === p || issue.path.startsWith(`${p}.`));
        return culprit
          ? { path: issue.path, message: issue.message, line: src.lineOf(`sweep.${where}.${culprit}`) }
          : issue;
      });
      throw sweepError(src, `sweep variant ${index} (${label}) is not a valid run config`, issues);
    }
    return { index, runId, overrides, label, config: parsed.data };
  });
}
