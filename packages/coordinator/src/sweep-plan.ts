/**
 * Planning a sweep: the config's `sweep` block expanded into variants (grid or random search),
 * each run once per seed, as the manifest `runSweep` drives. A variant's run config is its
 * expansion with the run id `<sweep>-v<variant>-s<seed>` and `training.seed` set to the seed;
 * it is expanded again from the manifest's copy of the config whenever it is needed, so a
 * resumed sweep runs exactly what was planned.
 */
import {
  ID_PATTERN,
  expandSweep,
  layout,
  parseRunConfig,
  parseSweepManifest,
  runIdStamp,
  type RunConfig,
  type SweepManifest,
  type SweepVariant,
} from '@pmamba/protocol';
import { CoordinatorError } from './errors.ts';

/** A config as read from its file: the parsed YAML value, its name and a line finder for messages. */
export interface SweepSource {
  name: string;
  value: unknown;
  lineOf?: (path: string) => number | undefined;
}

/** Command-line choices that override the sweep block. */
export interface SweepPlanOptions {
  name?: string;
  seeds?: number[];
  maxParallel?: number;
  baseline?: number;
  /** `off` disables the block's early stopping. */
  earlyStopping?: 'median' | 'off';
  now?: () => Date;
}

function variantsOf(source: SweepSource): SweepVariant[] {
  return expandSweep(source.value, { name: source.name, lineOf: source.lineOf ?? (() => undefined) });
}

export function planSweep(source: SweepSource, options: SweepPlanOptions = {}): SweepManifest {
  const variants = variantsOf(source);
  const base = parseRunConfig(source.value, source.name);
  const sweep = base.sweep;
  if (!sweep) throw new CoordinatorError('E_SWEEP', `${source.name} has no sweep block: add sweep.grid (or sweep.space with samples), or train it with \`pmamba train\``);
  const now = options.now?.() ?? new Date();
  const name = options.name ?? sweep.name ?? base.run.id ?? `sweep-${runIdStamp(now)}`;
  const seeds = [...new Set(options.seeds ?? sweep.seeds ?? [base.training.seed])];
  // The longest run id must still be an id: check the name against the last variant and seed.
  if (!ID_PATTERN.test(name) || !ID_PATTERN.test(`${name}-v${variants.length - 1}-s${Math.max(...seeds)}`)) {
    throw new CoordinatorError('E_SWEEP', `sweep name ${JSON.stringify(name)}: use letters, digits, '_' and '-' (its run ids <name>-v<variant>-s<seed> must stay within 128 characters)`);
  }
  const baseline = options.baseline ?? sweep.baseline;
  if (!Number.isInteger(baseline) || baseline < 0 || baseline >= variants.length) {
    throw new CoordinatorError('E_SWEEP', `baseline ${baseline}: expected a variant index in 0..${variants.length - 1}`);
  }
  const block = options.earlyStopping === 'off' ? undefined : options.earlyStopping === 'median' ? { rule: 'median' as const, minPeers: sweep.earlyStopping?.minPeers ?? 2 } : sweep.earlyStopping;
  const paths = Object.keys(sweep.grid ?? sweep.space ?? {});
  return parseSweepManifest(
    {
      kind: 'pmamba.sweep',
      version: 1,
      name,
      createdAt: now.toISOString(),
      source: source.value,
      sourceName: source.name,
      paths,
      seeds,
      baseline,
      maxParallel: options.maxParallel ?? sweep.maxParallel,
      earlyStopping: block ?? null,
      variants: variants.map((v) => ({
        index: v.index,
        label: v.label,
        overrides: v.overrides,
        runs: seeds.map((seed) => ({ seed, runId: layout.sweepRunId(name, v.index, seed), status: 'pending', evaluated: {} })),
      })),
    },
    layout.sweepManifestKey(name),
  );
}

/** Expands the manifest's config again; E_SWEEP if it no longer gives the planned variants. */
export function sweepVariants(manifest: SweepManifest): SweepVariant[] {
  const variants = variantsOf({ name: manifest.sourceName, value: manifest.source });
  const same = variants.length === manifest.variants.length && variants.every((v, i) => v.label === manifest.variants[i].label);
  if (!same) throw new CoordinatorError('E_SWEEP', `sweep ${manifest.name}: its config no longer expands to the variants it planned (was this pmamba version's sweep expansion changed?)`);
  return variants;
}

/** The run config of one variant and seed. */
export function sweepRunConfig(manifest: SweepManifest, variant: SweepVariant, seed: number): RunConfig {
  const config = variant.config;
  return parseRunConfig(
    {
      ...config,
      run: { ...config.run, id: layout.sweepRunId(manifest.name, variant.index, seed) },
      training: { ...config.training, seed },
    },
    `${manifest.sourceName} (sweep ${manifest.name}, variant ${variant.index}, seed ${seed})`,
  );
}
