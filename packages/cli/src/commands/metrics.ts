import type { CommandModule } from 'yargs';

export const metricsCommand: CommandModule = {
  command: 'metrics',
  describe: '(in progress)',
  handler: () => {
    throw new Error('metrics: not implemented yet');
  },
};
