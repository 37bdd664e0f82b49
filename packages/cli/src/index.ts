/**
 * @pmamba/cli: the `pmamba` binary (src/main.ts) and what it does, for scripts and benchmarks
 * that drive a whole run in process.
 *
 * ```ts
 * const outcome = await trainRun({ config: parseRunConfig(yaml), backend: 'wasm', localWorkers: 2 });
 * console.log(outcome.teacher, outcome.evaluations.at(-1)?.result.table.mean.mad);
 * ```
 */
export { trainRun, type TrainRunOptions } from './train-run.ts';
export { downloadVerified, type DownloadOptions, type DownloadResult } from './weights/download.ts';
export { WEIGHTS_CATALOG, findWeights, type WeightsEntry } from './weights/catalog.ts';
