/**
 * `pmamba models …`: the model registry on the artifact store — register a finished run as a
 * new version (the promotion gate decides whether it becomes champion), list, show, diff,
 * promote by hand, roll back.
 *
 *   pmamba models register tiles --run RUN [--gate-metric mad] [--gate-margin 0.005]
 *   pmamba models list [tiles]          pmamba models show tiles[@3]
 *   pmamba models promote tiles@3 --reason "…"   pmamba models rollback tiles
 *   pmamba models diff tiles 2 3 [--classes]
 */
import type { Argv, CommandModule } from 'yargs';
import { reportMarkdown } from '@pmamba/coordinator';
import { METRIC_LABELS } from '@pmamba/metrics';
import { DEFAULT_STORE_URL, METRIC_NAMES, type MetricName, type ModelChampion, type ModelVersion } from '@pmamba/protocol';
import {
  diff, listModels, listVersions, parseModelRef, promote, readChampion, registerRun, resolveModel, rollback,
} from '@pmamba/registry';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { CliError } from '../errors.ts';

interface StoreArgs {
  store: string;
  json: boolean;
}

const percent = (v: number | null): string => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const points = (v: number | null): string => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}`);

/** A Markdown table, as the CLI prints benchmark tables; `right` marks right-aligned columns. */
function table(header: string[], rows: string[][], right: boolean[] = []): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map((_, i) => (right[i] ? '---:' : '---')).join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

function withStore(y: Argv<object>): Argv<StoreArgs> {
  return y
    .option('store', { type: 'string', default: DEFAULT_STORE_URL, describe: 'artifact store: file://DIR or s3://BUCKET/PREFIX' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of tables' }) as unknown as Argv<StoreArgs>;
}

/** Opens the store, runs `f`, closes it. */
async function onStore<T>(url: string, f: (store: ArtifactStore) => Promise<T>): Promise<T> {
  const store = await openStore(url);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));

function versionNumber(raw: unknown, what: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${what} ${JSON.stringify(raw)}: expected a version number (1, 2, …)`, 'E_BAD_OPTION');
  return n;
}

function historyLines(champion: ModelChampion | undefined): string {
  if (!champion || champion.history.length === 0) return 'no champion yet\n';
  const lines = champion.history.map((h) => `  ${h.at}  ${h.action.padEnd(14)} v${h.version}${h.previous === null ? '' : ` (was v${h.previous})`}  ${h.reason}`);
  return `champion: ${champion.champion === null ? 'none' : `v${champion.champion}`}\nhistory:\n${lines.join('\n')}\n`;
}

// ---- register ----

interface RegisterArgs extends StoreArgs {
  name: string;
  run: string;
  gateMetric: MetricName;
  gateMargin: number;
  note?: string;
}

const registerCommand: CommandModule<object, RegisterArgs> = {
  command: 'register <name>',
  describe: 'register a finished run as the next version of a model; the gate decides whether it becomes champion',
  builder: (y) =>
    withStore(y as Argv<object>)
      .positional('name', { type: 'string', demandOption: true, describe: 'model name (letters, digits, _ and -)' })
      .option('run', { type: 'string', demandOption: true, describe: 'the finished run to register' })
      .option('gate-metric', { choices: METRIC_NAMES, default: 'mad' as MetricName, describe: 'metric the gate compares (mean over classes; higher is better)' })
      .option('gate-margin', { type: 'number', default: 0, describe: 'how much the new value must beat the champion\'s by, as a fraction (0.005 = 0.5 points)' })
      .option('note', { type: 'string', describe: 'kept in the version record' }) as unknown as Argv<RegisterArgs>,
  handler: async (args) => {
    const r = await onStore(args.store, (store) =>
      registerRun(store, args.name, args.run, { gate: { metric: args.gateMetric, margin: args.gateMargin }, note: args.note }),
    );
    if (args.json) return printJson(r);
    print(
      `${args.name}@${r.version}: registered from run ${args.run}\n` +
        `${r.promoted ? 'promoted to champion' : `challenger (champion stays ${r.champion === null ? 'none' : `v${r.champion}`})`}: ${r.reason}\n`,
    );
  },
};

// ---- list ----

const listCommand: CommandModule<object, StoreArgs & { name?: string }> = {
  command: 'list [name]',
  describe: 'the registered models, or one model\'s versions and champion history',
  builder: (y) => withStore(y as Argv<object>).positional('name', { type: 'string', describe: 'model name' }) as unknown as Argv<StoreArgs & { name?: string }>,
  handler: async (args) => {
    if (args.name === undefined) {
      const models = await onStore(args.store, listModels);
      if (args.json) return printJson(models);
      if (models.length === 0) return print(`no models registered in ${args.store} (pmamba models register NAME --run RUN)`);
      return print(table(['model', 'versions', 'champion'], models.map((m) => [m.name, String(m.versions.length), m.champion === null ? '—' : `v${m.champion}`]), [false, true, true]));
    }
    const name = args.name;
    const { versions, champion } = await onStore(args.store, async (store) => ({ versions: await listVersions(store, name), champion: await readChampion(store, name) }));
    if (args.json) return printJson({ name, champion: champion?.champion ?? null, versions, history: champion?.history ?? [] });
    const rows = versions.map((v) => [
      `${v.number === champion?.champion ? '* ' : ''}v${v.number}`,
      v.createdAt,
      v.sourceRun,
      `${v.evaluationData.fingerprint.slice(0, 12)} (${v.evaluationData.images})`,
      percent(v.metrics.mean.mad),
      v.gate.promoted ? 'promoted' : 'challenger',
    ]);
    print(`${table(['version', 'registered', 'run', 'evaluation data (images)', METRIC_LABELS.mad, 'gate'], rows, [false, false, false, false, true, false])}(* champion)\n\n${historyLines(champion)}`);
  },
};

// ---- show ----

function describeVersion(v: ModelVersion, champion: ModelChampion | undefined): string {
  const weights = Object.entries(v.weights).map(([m, r]) => `  ${m}: ${r.key} (${r.size} bytes, sha256 ${r.sha256})`);
  const gate = `${v.gate.promoted ? 'promoted' : 'challenger'} on ${v.gate.metric}, margin ${(v.gate.margin * 100).toFixed(1)} points${v.gate.championBefore ? ` (against v${v.gate.championBefore})` : ''}: ${v.gate.reason}`;
  return [
    `${v.name}@${v.number}${champion?.champion === v.number ? ' (champion)' : ''}`,
    `registered   ${v.createdAt}`,
    `source run   ${v.sourceRun}`,
    `data         fingerprint ${v.evaluationData.fingerprint}, ${v.evaluationData.images} test images`,
    `model        ${v.config.training.mode}, preset ${v.config.model.preset}, image size ${v.config.dataset.imageSize}`,
    ...(v.software ? [`software     pmamba ${v.software.pmamba}, node ${v.software.node}`] : []),
    `gate         ${gate}`,
    ...(v.note ? [`note         ${v.note}`] : []),
    'weights',
    ...weights,
    '',
    reportMarkdown(v.metrics, v.config.evaluation.metrics),
  ].join('\n');
}

const showCommand: CommandModule<object, StoreArgs & { model: string }> = {
  command: 'show <model>',
  describe: 'a version: its run, data, gate decision, weights and metrics (NAME: the champion, NAME@N: version N)',
  builder: (y) => withStore(y as Argv<object>).positional('model', { type: 'string', demandOption: true, describe: 'NAME or NAME@N' }) as unknown as Argv<StoreArgs & { model: string }>,
  handler: async (args) => {
    const { version, champion } = await onStore(args.store, async (store) => {
      const version = await resolveModel(store, args.model);
      return { version, champion: await readChampion(store, version.name) };
    });
    if (args.json) return printJson(version);
    print(describeVersion(version, champion));
  },
};

// ---- promote, rollback ----

const promoteCommand: CommandModule<object, StoreArgs & { model: string; reason: string }> = {
  command: 'promote <model>',
  describe: 'make NAME@N the champion whatever the gate said (kept as manual-promote in the history)',
  builder: (y) =>
    withStore(y as Argv<object>)
      .positional('model', { type: 'string', demandOption: true, describe: 'NAME@N' })
      .option('reason', { type: 'string', default: 'promoted by hand', describe: 'why (kept in the champion history)' }) as unknown as Argv<StoreArgs & { model: string; reason: string }>,
  handler: async (args) => {
    const { name, version } = parseModelRef(args.model);
    if (version === undefined) throw new CliError(`promote ${args.model}: name the version, e.g. ${name}@3`, 'E_BAD_OPTION');
    const { before, after } = await onStore(args.store, async (store) => {
      const before = (await readChampion(store, name))?.champion ?? null;
      return { before, after: await promote(store, name, version, args.reason) };
    });
    if (args.json) return printJson(after);
    print(before === version ? `${name}: v${version} already is the champion` : `${name}: champion ${before === null ? 'none' : `v${before}`} → v${version} (manual-promote: ${args.reason})`);
  },
};

const rollbackCommand: CommandModule<object, StoreArgs & { name: string; reason?: string }> = {
  command: 'rollback <name>',
  describe: 'make the champion before the current one champion again (kept as rollback in the history)',
  builder: (y) =>
    withStore(y as Argv<object>)
      .positional('name', { type: 'string', demandOption: true, describe: 'model name' })
      .option('reason', { type: 'string', describe: 'why (kept in the champion history)' }) as unknown as Argv<StoreArgs & { name: string; reason?: string }>,
  handler: async (args) => {
    const after = await onStore(args.store, (store) => rollback(store, args.name, { reason: args.reason }));
    if (args.json) return printJson(after);
    const change = after.history.at(-1)!;
    print(`${args.name}: champion v${change.previous} → v${change.version} (rollback: ${change.reason})`);
  },
};

// ---- diff ----

type DiffArgs = StoreArgs & { name: string; a: number; b: number; classes: boolean };

const diffCommand: CommandModule<object, DiffArgs> = {
  command: 'diff <name> <a> <b>',
  describe: 'two versions\' metrics side by side (the mean; --classes: each class too) with b − a in points',
  builder: (y) =>
    withStore(y as Argv<object>)
      .positional('name', { type: 'string', demandOption: true, describe: 'model name' })
      .positional('a', { type: 'string', demandOption: true, describe: 'version number' })
      .positional('b', { type: 'string', demandOption: true, describe: 'version number' })
      .option('classes', { type: 'boolean', default: false, describe: 'also compare each class' }) as unknown as Argv<DiffArgs>,
  handler: async (args) => {
    const a = versionNumber(args.a, 'version a');
    const b = versionNumber(args.b, 'version b');
    const d = await onStore(args.store, (store) => diff(store, args.name, a, b));
    if (args.json) return printJson({ name: args.name, a, b, sameEvaluationData: d.sameEvaluationData, rows: d.rows });
    let last = '';
    const rows = d.rows.filter((r) => args.classes || r.scope === 'mean').map((r) => {
      const scope = r.scope === last ? '' : r.scope;
      last = r.scope;
      return [scope, METRIC_LABELS[r.metric], percent(r.a), percent(r.b), points(r.delta)];
    });
    const head = `${args.name}: v${a} (run ${d.a.sourceRun}) vs v${b} (run ${d.b.sourceRun})\n` +
      (d.sameEvaluationData ? 'same evaluation data\n' : `warning: evaluated on different data (${d.a.evaluationData.fingerprint.slice(0, 12)} vs ${d.b.evaluationData.fingerprint.slice(0, 12)}): the numbers do not compare\n`);
    print(`${head}\n${table(['class', 'metric', `v${a}`, `v${b}`, 'Δ points'], rows, [false, false, true, true, true])}`);
  },
};

/** `pmamba models …`: named models, their versions and the champion. */
export const modelsCommand: CommandModule = {
  command: 'models',
  describe: 'the model registry: register runs as versions, list, show, diff, promote, rollback',
  builder: (y) =>
    y
      .command(registerCommand)
      .command(listCommand)
      .command(showCommand)
      .command(promoteCommand)
      .command(rollbackCommand)
      .command(diffCommand)
      .demandCommand(1, 'name a models command: register, list, show, promote, rollback or diff'),
  handler: () => undefined,
};
