/**
 * Turns zod issues into messages that name the field, say what was expected and show what was
 * found: `training.batchSize: expected a positive integer, got -1`. Unknown fields get a
 * "did you mean" when a known field is close (`batch_size` → `batchSize`).
 */
import type { z } from 'zod';
import type { FieldIssue } from './errors.ts';

type Path = readonly PropertyKey[];

/** The parts of a zod v4 issue this module reads (raw or final). */
interface AnyIssue {
  code?: string;
  path?: Path;
  message?: string;
  expected?: string;
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  exact?: boolean;
  values?: readonly unknown[];
  keys?: readonly string[];
  format?: string;
  divisor?: number;
  discriminator?: string;
  options?: readonly unknown[];
  errors?: readonly (readonly AnyIssue[])[];
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  tuple: 'a list',
  object: 'a mapping of fields',
  record: 'a mapping',
  null: 'null',
  date: 'a date',
};

const FORMAT_NAMES: Record<string, string> = {
  datetime: 'an ISO 8601 date-time such as 2025-01-31T12:00:00Z',
  url: 'a URL',
  regex: 'a value in the documented format',
  safeint: 'an integer',
};

/** Short, bounded rendering of a value for "got …". */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null) return String(value);
  if (Array.isArray(value) && value.length === 0) return 'an empty list';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${n === 1 || n === 1n ? '' : 's'}`;
}

function bound(issue: AnyIssue, small: boolean): string {
  const limit = (small ? issue.minimum : issue.maximum) ?? 0;
  const relation = issue.exact ? 'exactly' : small ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
  switch (issue.origin) {
    case 'array':
    case 'set':
      return `expected ${relation} ${plural(limit, 'item')}`;
    case 'string':
      return small && limit === 1 && !issue.exact ? 'expected a non-empty string' : `expected ${relation} ${plural(limit, 'character')}`;
    default:
      return `expected a number ${small ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<'} ${limit}`;
  }
}

/**
 * Per-parse zod error map: our wording for every issue a schema did not word itself
 * (schema-level messages take precedence over this).
 */
export function issueMessage(issue: AnyIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected ?? ''] ?? issue.expected}`;
    case 'too_small':
      return bound(issue, true);
    case 'too_big':
      return bound(issue, false);
    case 'invalid_value': {
      const values = issue.values ?? [];
      return values.length === 1 ? `expected ${showValue(values[0])}` : `expected one of ${values.map(showValue).join(', ')}`;
    }
    case 'invalid_format':
      return `expected ${FORMAT_NAMES[issue.format ?? ''] ?? `a valid ${issue.format}`}`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return 'unknown field';
    case 'invalid_union':
      if (issue.discriminator) return `expected one of ${(issue.options ?? []).map(showValue).join(', ')}`;
      return 'matches none of the allowed forms';
    default:
      return undefined;
  }
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

export function dotted(path: Path): string {
  return path.map(String).join('.');
}

interface ZodInternals {
  _zod?: { def?: Record<string, unknown> };
}

/** The field names an object schema at `path` declares (through optional/default/pipe/array/…). */
function knownKeys(schema: unknown, path: Path): string[] {
  let current: unknown[] = [schema];
  const unwrap = (s: unknown): unknown[] => {
    const def = (s as ZodInternals)?._zod?.def;
    if (!def) return [];
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'nonoptional':
      case 'catch':
        return unwrap(def.innerType);
      case 'pipe':
        return unwrap(def.in);
      case 'union':
        return (def.options as unknown[]).flatMap(unwrap);
      default:
        return [s];
    }
  };
  for (const key of path) {
    current = current.flatMap(unwrap).flatMap((s) => {
      const def = (s as ZodInternals)._zod?.def ?? {};
      if (def.type === 'object') {
        const child = (def.shape as Record<string, unknown>)[String(key)];
        return child === undefined ? [] : [child];
      }
      if (def.type === 'array') return [def.element];
      if (def.type === 'record') return [def.valueType];
      if (def.type === 'tuple') return [(def.items as unknown[])[Number(key)]];
      return [];
    });
  }
  return current
    .flatMap(unwrap)
    .flatMap((s) => {
      const def = (s as ZodInternals)._zod?.def ?? {};
      return def.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
    });
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The known field a mistyped name most likely meant. */
export function suggestField(name: string, known: readonly string[]): string | undefined {
  const exact = known.find((k) => normalise(k) === normalise(name));
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(normalise(name), normalise(k));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * For a failed plain union, the branch that got furthest (deepest issue path) is the one the
 * author meant; its issues say more than "matches none of the allowed forms".
 */
function expandUnion(issue: AnyIssue): AnyIssue[] | undefined {
  if (issue.code !== 'invalid_union' || issue.discriminator || !issue.errors?.length) return undefined;
  const depth = (branch: readonly AnyIssue[]) => Math.max(...branch.map((i) => i.path?.length ?? 0));
  const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
  if (!best || depth(best) === 0) return undefined;
  const base = issue.path ?? [];
  return best.map((i) => ({ ...i, path: [...base, ...(i.path ?? [])] }));
}

/** FieldIssues for a failed parse of `input` with `schema`, one per problem (and per unknown field). */
export function fieldIssues(error: z.ZodError, input: unknown, schema: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  const visit = (issue: AnyIssue): void => {
    const expanded = expandUnion(issue);
    if (expanded) {
      expanded.forEach(visit);
      return;
    }
    const path = issue.path ?? [];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, path);
      for (const key of issue.keys ?? []) {
        const guess = suggestField(key, known);
        out.push({
          path: dotted([...path, key]),
          message: guess ? `unknown field (did you mean "${guess}"?)` : `unknown field (known: ${known.join(', ')})`,
        });
      }
      return;
    }
    const message = issue.message ?? issueMessage(issue) ?? 'is invalid';
    // Custom checks word their whole message; everything else gets what was found.
    const got = issue.code === 'custom' ? '' : `, got ${showValue(valueAt(input, path))}`;
    out.push({ path: dotted(path), message: `${message}${got}` });
  };
  for (const issue of error.issues as readonly AnyIssue[]) visit(issue);
  return out;
}

/** `path: message` lines; with a file, `file:line: path: message` where the line is known. */
export function formatIssues(issues: readonly FieldIssue[], file?: string): string {
  return issues
    .map((i) => {
      const where = file && i.line ? `${file}:${i.line}: ` : '';
      return `${where}${i.path || '(root)'}: ${i.message}`;
    })
    .join('\n');
}

/**
 * Parses `input` with `schema` using our messages, or throws what `fail` builds from the
 * issues. The shared entry point for configs, payloads, results and manifests.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, fail: (issues: FieldIssue[]) => Error): z.output<S> {
  const result = schema.safeParse(input, { error: issueMessage });
  if (result.success) return result.data;
  throw fail(fieldIssues(result.error, input, schema));
}
