import type { CommandModule } from 'yargs';

export const predictCommand: CommandModule = {
  command: 'predict',
  describe: '(in progress)',
  handler: () => {
    throw new Error('predict: not implemented yet');
  },
};
