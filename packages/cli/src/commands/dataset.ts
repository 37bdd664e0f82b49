import type { CommandModule } from 'yargs';

export const datasetCommand: CommandModule = {
  command: 'dataset',
  describe: '(in progress)',
  handler: () => {
    throw new Error('dataset: not implemented yet');
  },
};
