/**
 * Reading run configs: YAML → schema, with every problem reported as `file:line: field:
 * expected …, got …`. A config with a sweep block is also checked variant by variant, so a
 * bad grid value fails before any run starts.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type FieldIssue } from './errors.ts';
import { formatIssues, parseWith } from './issues.ts';
import { RunConfigSchema, type RunConfig } from './run-config.ts';
import { expandSweep, type SweepVariant } from './sweep.ts';

/** A parsed YAML document, with a way to find the line of a field path. */
export interface ConfigSource {
  /** File name (or another label) used in messages. */
  name: string;
  value: unknown;
  /** 1-based line of the deepest existing node on `path`. */
  lineOf(path: string): number | undefined;
}

function lineFinder(doc: Document, counter: LineCounter): (path: string) => number | undefined {
  return (path) => {
    const parts: (string | number)[] = path === '' ? [] : path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    for (let n = parts.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(parts.slice(0, n), true);
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) return counter.linePos(range[0]).line;
    }
    return undefined;
  };
}

/** Parses YAML text; E_CONFIG_YAML with line and column for malformed YAML or duplicate keys. */
export function parseConfigYaml(text: string, name: string): ConfigSource {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues: FieldIssue[] = doc.errors.map((e) => ({
      path: '',
      message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      line: e.linePos?.[0]?.line,
    }));
    const where = (i: FieldIssue) => `${name}${i.line ? `:${i.line}` : ''}`;
    throw new ConfigError('E_CONFIG_YAML', `${name} is not valid YAML:\n${issues.map((i) => `  ${where(i)}: ${i.message}`).join('\n')}`, {
      issues,
      file: name,
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError('E_CONFIG_YAML', `${name} is not valid YAML: ${(err as Error).message}`, { file: name, cause: err });
  }
  return { name, value, lineOf: lineFinder(doc, counter) };
}

/** Adds source lines to issues and builds the ConfigError that lists them. */
export function configInvalid(source: Pick<ConfigSource, 'name' | 'lineOf'>, issues: FieldIssue[], heading = 'is not a valid run config'): ConfigError {
  const located = issues.map((i) => ({ ...i, line: i.line ?? source.lineOf(i.path) }));
  const lines = formatIssues(located, source.name)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return new ConfigError('E_CONFIG_INVALID', `${source.name} ${heading}:\n${lines}`, { issues: located, file: source.name });
}

/** Validates an already-parsed config value (e.g. from JSON or a test). */
export function parseRunConfig(value: unknown, name = 'run config'): RunConfig {
  return parseWith(RunConfigSchema, value, (issues) => configInvalid({ name, lineOf: () => undefined }, issues));
}

/** Validates YAML text; `name` labels messages (usually the file path). */
export function parseRunConfigText(text: string, name = 'run config'): RunConfig {
  const source = parseConfigYaml(text, name);
  const config = parseWith(RunConfigSchema, source.value, (issues) => configInvalid(source, issues));
  if (config.sweep) expandSweep(source.value, source);
  return config;
}

/**
 * Reads and validates a run config file. Errors: E_CONFIG_READ (cannot read the file),
 * E_CONFIG_YAML, E_CONFIG_INVALID and E_SWEEP_INVALID, each naming the file, line and field.
 */
export async function loadRunConfig(path: string): Promise<RunConfig> {
  return parseRunConfigText(await readConfigFile(path), path);
}

export async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw new ConfigError('E_CONFIG_READ', `cannot read run config ${path}: ${why}`, { file: path, cause: err });
  }
}

/** Reads a config file and expands its sweep block: one validated config per grid point. */
export async function loadSweep(path: string): Promise<SweepVariant[]> {
  const source = parseConfigYaml(await readConfigFile(path), path);
  return expandSweep(source.value, source);
}
