#!/usr/bin/env node
// The `pmamba` command (`npx pmamba …` after `npm ci`, or global after `npm link`): the CLI is
// TypeScript run through tsx, registered here (ESM and CommonJS hooks, as `node --import tsx`
// does) so no build step is needed.
import { register as registerCjs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

registerCjs();
register();
await import('../src/main.ts');
