/**
 * Published results (e.g. configs/reference-results.yaml) to print beside ours. The file holds
 * percentages as papers print them; loaded entries hold fractions like every other value here.
 *
 * ```yaml
 * version: 1
 * references:
 *   - id: mambaad-paper            # unique, used to select entries
 *     name: MambaAD (its paper)    # printed
 *     dataset: mvtec-ad            # optional; used to select entries
 *     setting: multi-class         # optional
 *     source: MambaAD paper        # optional
 *     metrics: { i_auroc: 98.6, … }   # any of the seven, in %
 *   - id: pyramid-mamba-abstract
 *     name: Pyramid Mamba (abstract)
 *     relative_to: mambaad-paper   # a claim stated relative to another entry (approximate)
 *     delta: { p_ap: 1.0 }         # in percentage points
 * ```
 *
 * @example
 * const refs = selectReferences(loadReferenceResults('configs/reference-results.yaml'), { dataset: 'mvtec-ad' });
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { METRIC_KEYS, type MetricKey, type MetricName } from '@pmamba/protocol';
import { MetricsError } from './errors.ts';
import { meanAnomalyDetection } from './metric-set.ts';

/** One published result, values as fractions. */
export interface ReferenceResult {
  id: string;
  name: string;
  dataset?: string;
  setting?: string;
  source?: string;
  /** True for values derived from a relative claim (`relative_to` + `delta`). */
  approximate: boolean;
  /** Known metrics as fractions; `mad` present only when all seven are. */
  values: Partial<Record<MetricName, number>>;
}

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(file: string, where: string, what: string): never {
  throw new MetricsError('E_REFERENCE_FILE', `${file}: ${where} ${what}`, where);
}

function optionalString(file: string, entry: Raw, key: string, where: string): string | undefined {
  const v = entry[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '') fail(file, `${where}.${key}`, 'must be a non-empty string');
  return v;
}

function percentTable(
  file: string,
  raw: unknown,
  where: string,
  range: [number, number],
): Partial<Record<MetricKey, number>> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) fail(file, where, `must be a mapping of metric keys (${METRIC_KEYS.join(', ')}) to percentages`);
  const out: Partial<Record<MetricKey, number>> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(METRIC_KEYS as readonly string[]).includes(k)) {
      fail(file, `${where}.${k}`, `is not a metric key; use one of ${METRIC_KEYS.join(', ')} (mAD is computed)`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < range[0] || v > range[1]) {
      fail(file, `${where}.${k}`, `must be a number in [${range[0]}, ${range[1]}] (percent), got ${JSON.stringify(v)}`);
    }
    out[k as MetricKey] = v;
  }
  return out;
}

/** Parses reference-results YAML text; `file` names the source in error messages. */
export function parseReferenceResults(text: string, file = 'reference results'): ReferenceResult[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new MetricsError('E_REFERENCE_FILE', `${file}: not valid YAML (${(err as Error).message})`, file, { cause: err });
  }
  if (!isRecord(doc) || !Array.isArray(doc.references)) fail(file, 'references', 'must be a list of entries');
  if (doc.version !== undefined && doc.version !== 1) fail(file, 'version', `must be 1, got ${JSON.stringify(doc.version)}`);

  const entries = doc.references as unknown[];
  const raw = new Map<string, { entry: Raw; where: string }>();
  entries.forEach((entry, i) => {
    const where = `references[${i}]`;
    if (!isRecord(entry)) fail(file, where, 'must be a mapping');
    const id = entry.id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(id)) fail(file, `${where}.id`, 'must be a word of letters, digits, . _ -');
    if (raw.has(id)) fail(file, `${where}.id`, `repeats id '${id}'`);
    if (typeof entry.name !== 'string' || entry.name.trim() === '') fail(file, `${where}.name`, 'must be a non-empty string');
    raw.set(id, { entry, where });
  });

  const resolved = new Map<string, ReferenceResult>();
  const resolving = new Set<string>();
  const resolve = (id: string): ReferenceResult => {
    const done = resolved.get(id);
    if (done) return done;
    const { entry, where } = raw.get(id)!;
    if (resolving.has(id)) fail(file, `${where}.relative_to`, `forms a cycle through '${id}'`);
    resolving.add(id);
    const own = percentTable(file, entry.metrics, `${where}.metrics`, [0, 100]);
    let percents = own;
    let approximate = false;
    if (entry.relative_to !== undefined) {
      const base = entry.relative_to;
      if (typeof base !== 'string' || !raw.has(base)) {
        fail(file, `${where}.relative_to`, `must name another entry's id, got ${JSON.stringify(base)}`);
      }
      const delta = percentTable(file, entry.delta, `${where}.delta`, [-100, 100]);
      const baseValues = resolve(base).values;
      percents = {};
      for (const k of METRIC_KEYS) {
        const b = baseValues[k];
        if (own[k] !== undefined) percents[k] = own[k];
        else if (delta[k] !== undefined && b !== undefined) percents[k] = b * 100 + delta[k]!;
      }
      approximate = true;
    } else if (entry.delta !== undefined) {
      fail(file, `${where}.delta`, 'needs relative_to (the entry the deltas apply to)');
    }
    const values: Partial<Record<MetricName, number>> = {};
    // Percent → fraction without binary noise (59.2 / 100 is 0.5920000000000001).
    for (const k of METRIC_KEYS) if (percents[k] !== undefined) values[k] = Number((percents[k]! / 100).toPrecision(12));
    const mad = meanAnomalyDetection(values);
    if (!Number.isNaN(mad)) values.mad = mad;
    const result: ReferenceResult = {
      id,
      name: (entry.name as string).trim(),
      dataset: optionalString(file, entry, 'dataset', where),
      setting: optionalString(file, entry, 'setting', where),
      source: optionalString(file, entry, 'source', where),
      approximate,
      values,
    };
    resolving.delete(id);
    resolved.set(id, result);
    return result;
  };
  return [...raw.keys()].map(resolve);
}

/** Reads and parses a reference-results YAML file. */
export function loadReferenceResults(path: string): ReferenceResult[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MetricsError('E_REFERENCE_FILE', `${path}: cannot read reference results (${(err as Error).message})`, path, {
      cause: err,
    });
  }
  return parseReferenceResults(text, path);
}

/**
 * Picks entries by data set and/or id (ids keep the order given). Throws E_ARGUMENT for an id
 * that is not in the list, naming the ids that are.
 */
export function selectReferences(
  all: readonly ReferenceResult[],
  by: { dataset?: string; ids?: readonly string[] } = {},
): ReferenceResult[] {
  let out = by.dataset === undefined ? [...all] : all.filter((r) => r.dataset === by.dataset);
  if (by.ids !== undefined) {
    out = by.ids.map((id) => {
      const hit = out.find((r) => r.id === id);
      if (!hit) {
        throw new MetricsError(
          'E_ARGUMENT',
          `reference '${id}' not found${by.dataset ? ` for dataset ${by.dataset}` : ''}; known: ${out.map((r) => r.id).join(', ')}`,
          'references',
        );
      }
      return hit;
    });
  }
  return out;
}
