import type { CommandModule } from 'yargs';
import { dashboardCommand } from './dashboard.ts';
import { datasetCommand } from './dataset.ts';
import { demoCommand } from './demo.ts';
import { metricsCommand } from './metrics.ts';
import { modelsCommand } from './models.ts';
import { predictCommand } from './predict.ts';
import { scheduleCommand } from './schedule.ts';
import { schedulerCommand } from './scheduler.ts';
import { statusCommand } from './status.ts';
import { sweepCommand } from './sweep.ts';
import { trainCommand } from './train.ts';
import { weightsCommand } from './weights.ts';
import { workerCommand } from './worker.ts';

// Each command types its own arguments; yargs only needs the common shape here.
export const commands = [trainCommand, sweepCommand, workerCommand, demoCommand, predictCommand, datasetCommand, metricsCommand, weightsCommand, modelsCommand, scheduleCommand, schedulerCommand, statusCommand, dashboardCommand] as unknown as CommandModule[];
