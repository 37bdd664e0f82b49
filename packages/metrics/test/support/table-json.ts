/**
 * The benchmark table as JSON: fractions under the CLI's keys (i_auroc … mad), null where a
 * value is unknown, references with their per-column Δ (our mean minus the reference).
 *
 * @example
 * JSON.parse(tableToJson(table)).mean.values.mad; // 0.95…
 */
import type { BenchmarkTable, RowValues } from '../../src/benchmark-table.ts';
import type { MetricName } from '@pmamba/protocol';

/** The JSON document's shape. */
export interface BenchmarkTableJson {
  units: 'fraction';
  columns: MetricName[];
  classes: { name: string; values: Record<string, number | null> }[];
  mean: { name: string; values: Record<string, number | null> };
  references: {
    id: string;
    name: string;
    source: string | null;
    approximate: boolean;
    values: Record<string, number | null>;
    delta: Record<string, number | null>;
  }[];
}

/** The table as a plain JSON-ready object. */
export function tableToJsonObject(table: BenchmarkTable): BenchmarkTableJson {
  const values = (v: RowValues): Record<string, number | null> =>
    Object.fromEntries(table.columns.map((c) => [c, typeof v[c] === 'number' && !Number.isNaN(v[c]) ? v[c]! : null]));
  return {
    units: 'fraction',
    columns: [...table.columns],
    classes: table.rows.map((r) => ({ name: r.name, values: values(r.values) })),
    mean: { name: table.mean.name, values: values(table.mean.values) },
    references: table.references.map((r) => ({
      id: r.id,
      name: r.name,
      source: r.source ?? null,
      approximate: r.approximate,
      values: values(r.values),
      delta: values(r.delta),
    })),
  };
}

/** Renders the table as indented JSON text. */
export function tableToJson(table: BenchmarkTable): string {
  return JSON.stringify(tableToJsonObject(table), null, 2) + '\n';
}
