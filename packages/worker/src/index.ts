/** @pmamba/worker: BullMQ workers with sandboxed train-shard and evaluate processors. */
export { startWorker, PROCESSORS } from './worker.ts';
export type { WorkerOptions, WorkerHandle, WorkerEvent, WorkerQueue } from './worker.ts';
export { WorkerError } from './errors.ts';
export type { WorkerErrorCode } from './errors.ts';
export { childExecArgv } from './exec-argv.ts';
export { CHILD_ENV, childEnv, readChildEnv } from './child-env.ts';
export type { ChildSettings } from './child-env.ts';
export { WorkerRuntime } from './runtime.ts';
export { trainShard, batchPlan, stepsOf } from './train-shard.ts';
export type { JobContext, HandedBack } from './train-shard.ts';
export { evaluateClass } from './evaluate.ts';
export { teacherPretrain, finishedTeacher } from './teacher-pretrain.ts';
