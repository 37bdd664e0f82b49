/**
 * The optional `sweep` block of a run config: a grid of overrides. Each grid point is a run
 * of its own (expandSweep), e.g. the pyramid-level ablation of the paper's Fig. 4:
 *
 *   sweep:
 *     name: pyramid-levels
 *     grid:
 *       model.pyramid:
 *         - { mode: levels, levels: [1, 1, 1, 1] }
 *         - { mode: levels, levels: [2, 2, 2, 2] }
 */
import { z } from 'zod';
import { positiveInt } from './primitives.ts';

/** Sections a sweep may override; run identity, store and Redis stay fixed. */
export const SWEEPABLE_SECTIONS = ['dataset', 'model', 'training', 'evaluation'] as const;
const SWEEP_PATH = new RegExp(`^(${SWEEPABLE_SECTIONS.join('|')})(\\.[A-Za-z0-9_]+)+$`);

export const SweepSchema = z
  .strictObject({
    /** Names the sweep in reports. */
    name: z.string().min(1).max(200).optional(),
    /** Dotted config path → the values to try. Variants are the Cartesian product, in file order. */
    grid: z.record(z.string(), z.array(z.unknown()).min(1, { error: 'expected a non-empty list of values to try' })),
    /** Refuse grids with more variants than this (a guard against a typo that launches hundreds of runs). Default: 64. */
    maxVariants: positiveInt().default(64),
  })
  .superRefine((sweep, ctx) => {
    const paths = Object.keys(sweep.grid);
    if (paths.length === 0) ctx.addIssue({ code: 'custom', path: ['grid'], message: 'grid: expected at least one path to vary' });
    for (const path of paths) {
      if (!SWEEP_PATH.test(path)) {
        ctx.addIssue({
          code: 'custom',
          path: ['grid', path],
          message: `expected a dotted path inside ${SWEEPABLE_SECTIONS.join(', ')} (e.g. model.pyramid), got ${JSON.stringify(path)}`,
        });
      }
    }
    const variants = Object.values(sweep.grid).reduce((n, values) => n * values.length, 1);
    if (variants > sweep.maxVariants) {
      ctx.addIssue({
        code: 'custom',
        path: ['grid'],
        message: `the grid has ${variants} variants, more than maxVariants (${sweep.maxVariants}); raise maxVariants if that is intended`,
      });
    }
  });

export type SweepConfig = z.output<typeof SweepSchema>;
