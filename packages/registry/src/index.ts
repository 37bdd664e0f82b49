/**
 * @pmamba/registry: named models on the artifact store — versions copied from finished runs,
 * the champion alias and its promotion gate, manual promotion and rollback. No Redis, no tfjs.
 *
 * ```ts
 * const r = await registerRun(store, 'tiles', 'run-20261206-030000', { gate: { metric: 'mad', margin: 0.005 } });
 * console.log(r.version, r.promoted, r.reason); // 4 false "mad 91.20% vs champion v3's 91.40% …"
 * const champion = await resolveModel(store, 'tiles'); // or 'tiles@4'
 * const weights = await readVersionWeights(store, champion); // unified model's safetensors bytes
 * await rollback(store, 'tiles'); // the champion before the current one again
 * ```
 */
export { RegistryError, isRegistryError } from './errors.ts';
export type { RegistryErrorCode } from './errors.ts';
export { parseModelRef } from './model-ref.ts';
export type { ModelRef } from './model-ref.ts';
export { registerRun } from './register.ts';
export type { RegisterOptions, Registration } from './register.ts';
export type { GateOptions } from './gate.ts';
export { listVersions, showVersion } from './versions.ts';
export { listModels } from './models.ts';
export type { ModelSummary } from './models.ts';
export { readChampion, promote, rollback } from './champion.ts';
export type { ChangeOptions } from './champion.ts';
export { diff } from './diff.ts';
export type { MetricRow, VersionDiff } from './diff.ts';
export { resolveModel, readVersionWeights } from './resolve.ts';
