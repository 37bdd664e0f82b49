#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.ts';

/** The `pmamba` binary: each verb lives in ./commands/<verb>.ts. */
await yargs(hideBin(process.argv))
  .scriptName('pmamba')
  .command(commands)
  .demandCommand(1, 'name a command (pmamba --help lists them)')
  .strict()
  .fail((msg, err, y) => {
    if (err) {
      const code = (err as { code?: string }).code;
      console.error(`pmamba: ${err.message}${code ? ` [${code}]` : ''}`);
    } else {
      console.error(`pmamba: ${msg}\n`);
      y.showHelp();
    }
    process.exit(1);
  })
  .help()
  .parseAsync();
