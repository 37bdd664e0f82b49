import type { CommandModule } from 'yargs';
import { datasetCommand } from './dataset.ts';
import { metricsCommand } from './metrics.ts';
import { predictCommand } from './predict.ts';

export const commands: CommandModule[] = [predictCommand, datasetCommand, metricsCommand];
