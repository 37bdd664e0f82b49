/**
 * @pmamba/coordinator: plans runs, drives rounds and evaluations as BullMQ flows, aggregates
 * weights, writes reports.
 *
 * ```ts
 * const coordinator = new Coordinator({ connection, prefix: 'pmamba', store });
 * const record = await planRun(config, { store });
 * await coordinator.createRun(record);
 * const outcome = await coordinator.run(record); // needs workers on the same Redis and store
 * console.log(reportMarkdown(outcome.evaluations.at(-1)!.result.table));
 * await coordinator.close();
 * ```
 */
export { CoordinatorError } from './errors.ts';
export { planRun } from './plan.ts';
export { Coordinator, loadRun } from './coordinator.ts';
export type { CoordinatorEvent, RunOutcome } from './coordinator.ts';
export { saveReport, reportMarkdown } from './report.ts';
