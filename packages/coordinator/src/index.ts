/**
 * @pmamba/coordinator: plans runs, drives rounds and evaluations as BullMQ flows, aggregates
 * weights, writes reports; runs sweeps and scheduled retraining.
 *
 * ```ts
 * const coordinator = new Coordinator({ connection, prefix: 'pmamba', store });
 * const record = await planRun(config, { store });
 * await coordinator.createRun(record);
 * const outcome = await coordinator.run(record); // needs workers on the same Redis and store
 * console.log(reportMarkdown(outcome.evaluations.at(-1)!.result.table));
 * await coordinator.close();
 *
 * // A sweep: the config's sweep block, one run per variant and seed, then the ablation table.
 * const sweep = planSweep({ name: 'sweep.yaml', value: parsedYaml }, { seeds: [1, 2] });
 * await createSweep(store, sweep);
 * const { report } = await runSweep(sweep, { store, coordinator: (onEvent) => new Coordinator({ connection, prefix, store, onEvent }) });
 * ```
 */
export { CoordinatorError, ScheduleError } from './errors.ts';
export { planRun } from './plan.ts';
export { Coordinator, loadRun } from './coordinator.ts';
export type { CoordinatorEvent, RunOptions, RunOutcome } from './coordinator.ts';
export { saveReport, reportMarkdown } from './report.ts';
export { planSweep } from './sweep-plan.ts';
export type { SweepSource, SweepPlanOptions } from './sweep-plan.ts';
export { runSweep, createSweep, loadSweepManifest } from './sweep.ts';
export type { SweepEvent, SweepOptions, SweepOutcome } from './sweep.ts';
export { Scheduler } from './schedule-runner.ts';
export type { SchedulerEvent } from './schedule-runner.ts';
export { addSchedule, setSchedulePaused, removeSchedule, describeSchedules } from './schedule-admin.ts';
export type { ScheduleSummary } from './schedule-admin.ts';
export { listFirings } from './schedule-store.ts';
