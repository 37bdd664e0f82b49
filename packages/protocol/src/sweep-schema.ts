/**
 * The optional `sweep` block of a run config: a grid of overrides, or a space random search
 * draws `samples` variants from. Each variant × seed is a run of its own (expandSweep,
 * `pmamba sweep`), e.g. the pyramid-level ablation of the paper's Fig. 4:
 *
 *   sweep:
 *     name: pyramid-levels
 *     grid:
 *       model.pyramid:
 *         - { mode: levels, levels: [1, 1, 1, 1] }
 *         - { mode: levels, levels: [2, 2, 2, 2] }
 */
import { z } from 'zod';
import { nonNegativeInt, positiveInt } from './primitives.ts';

/** Sections a sweep may override; run identity, store and Redis stay fixed. */
export const SWEEPABLE_SECTIONS = ['dataset', 'model', 'training', 'evaluation'] as const;
const SWEEP_PATH = new RegExp(`^(${SWEEPABLE_SECTIONS.join('|')})(\\.[A-Za-z0-9_]+)+$`);

/** A range random search draws from: uniform, or log-uniform with `log: true`; `int` rounds. */
export const SweepRangeSchema = z.strictObject({
  min: z.number(),
  max: z.number(),
  log: z.boolean().default(false),
  int: z.boolean().default(false),
});
export type SweepRange = z.output<typeof SweepRangeSchema>;

const valueList = z.array(z.unknown()).min(1, { error: 'expected a non-empty list of values to try' });

export const EARLY_STOPPING_RULES = ['median'] as const;

export const SweepSchema = z
  .strictObject({
    /** Names the sweep: its manifest key and its runs' ids (`<name>-v<variant>-s<seed>`). */
    name: z.string().min(1).max(100).optional(),
    /** Grid search: dotted config path → the values to try. Variants are the Cartesian product, in file order. */
    grid: z.record(z.string(), valueList).optional(),
    /** Random search: dotted config path → a list to pick from or a range to draw from; `samples` variants. */
    space: z.record(z.string(), z.union([valueList, SweepRangeSchema])).optional(),
    /** Random search: how many variants to draw. */
    samples: positiveInt().optional(),
    /** Random search: the draw's seed (the same seed draws the same variants). Default: 0. */
    seed: nonNegativeInt().default(0),
    /** Training seeds each variant runs with (training.seed); default: the config's. `--seeds` overrides. */
    seeds: z.array(nonNegativeInt()).min(1).optional(),
    /** The variant (index) the table's Δ columns compare with. Default: 0. */
    baseline: nonNegativeInt().default(0),
    /** At most this many runs in flight. Default: 1. `--max-parallel` overrides. */
    maxParallel: positiveInt().default(1),
    /**
     * `median`: after each evaluated round r (evaluation.everyRounds) a run whose mAD is below the
     * median of its peers' at r (other variants' runs that reached r, at least `minPeers`) stops,
     * recorded as stopped.
     */
    earlyStopping: z.strictObject({ rule: z.enum(EARLY_STOPPING_RULES), minPeers: positiveInt().default(2) }).optional(),
    /** Refuse sweeps with more variants than this (a guard against a typo that launches hundreds of runs). Default: 64. */
    maxVariants: positiveInt().default(64),
  })
  .superRefine((sweep, ctx) => {
    const search = sweep.grid ?? sweep.space ?? {};
    const where = sweep.grid ? 'grid' : 'space';
    if ((sweep.grid === undefined) === (sweep.space === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give either grid (every combination) or space with samples (random search)' });
      return;
    }
    if (sweep.space && sweep.samples === undefined) ctx.addIssue({ code: 'custom', path: ['samples'], message: 'random search (space) needs samples: how many variants to draw' });
    if (sweep.grid && sweep.samples !== undefined) ctx.addIssue({ code: 'custom', path: ['samples'], message: 'samples applies to random search (space), not to a grid' });
    const paths = Object.keys(search);
    if (paths.length === 0) ctx.addIssue({ code: 'custom', path: [where], message: `${where}: expected at least one path to vary` });
    for (const path of paths) {
      if (!SWEEP_PATH.test(path)) {
        ctx.addIssue({
          code: 'custom',
          path: [where, path],
          message: `expected a dotted path inside ${SWEEPABLE_SECTIONS.join(', ')} (e.g. model.pyramid), got ${JSON.stringify(path)}`,
        });
      }
      const range = sweep.space?.[path];
      if (range && !Array.isArray(range) && (range.max < range.min || (range.log && range.min <= 0))) {
        ctx.addIssue({ code: 'custom', path: [where, path], message: `expected min ≤ max${range.log ? ' and min > 0 (log scale)' : ''}, got ${range.min}..${range.max}` });
      }
    }
    const variants = sweep.grid ? Object.values(sweep.grid).reduce((n, values) => n * values.length, 1) : (sweep.samples ?? 0);
    if (variants > sweep.maxVariants) {
      ctx.addIssue({
        code: 'custom',
        path: [where],
        message: `the sweep has ${variants} variants, more than maxVariants (${sweep.maxVariants}); raise maxVariants if that is intended`,
      });
    }
    if (variants > 0 && sweep.baseline >= variants) ctx.addIssue({ code: 'custom', path: ['baseline'], message: `expected a variant index below ${variants}, got ${sweep.baseline}` });
  });

export type SweepConfig = z.output<typeof SweepSchema>;
