import type { CommandModule } from 'yargs';
import { datasetCommand } from './dataset.ts';
import { metricsCommand } from './metrics.ts';
import { predictCommand } from './predict.ts';

// Each command types its own arguments; yargs only needs the common shape here.
export const commands = [predictCommand, datasetCommand, metricsCommand] as unknown as CommandModule[];
