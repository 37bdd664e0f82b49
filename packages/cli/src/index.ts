/**
 * @pmamba/cli: the `pmamba` binary (src/main.ts) and what it does, for scripts and benchmarks
 * that drive a whole run in process.
 *
 * ```ts
 * const outcome = await trainRun({ config: await loadRunConfig('configs/quickstart.yaml'), backend: 'wasm', localWorkers: 2 });
 * console.log(outcome.teacher, outcome.evaluations.at(-1)?.result.table.mean.mad);
 * ```
 */
export { trainRun } from './train-run.ts';
