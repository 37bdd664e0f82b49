/**
 * The Node flags of sandboxed processor processes. BullMQ forks them with the parent's
 * `process.execArgv`; that carries tsx's loader when the parent runs under tsx (`tsx main.ts`
 * or `node --import tsx`), but also whatever else the parent was started with — under
 * `node --test` the test runner's flags, which would make each child a test run. So children
 * get the parent's loader and runtime flags only, plus tsx's loader when it is missing, since
 * the processor files are TypeScript.
 */

/** Flags that take their value as the next argument (or after '='). */
const WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);
/** Flags without a value that a processor may rely on. */
const STANDALONE = /^--(enable-source-maps|no-warnings|no-deprecation|expose-gc|experimental-[a-z-]+|no-experimental-[a-z-]+|max-old-space-size=\d+|stack-size=\d+)$/;

/** `execArgv` keeping loaders and runtime flags, with `tsxLoader` imported when no tsx loader is there. */
export function childExecArgv(execArgv: readonly string[], tsxLoader: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    const name = arg.split('=')[0];
    if (WITH_VALUE.has(name)) {
      if (arg.includes('=')) kept.push(arg);
      else if (i + 1 < execArgv.length) kept.push(arg, execArgv[++i]);
    } else if (STANDALONE.test(arg)) {
      kept.push(arg);
    }
  }
  const hasTsx = kept.some((a) => /(^|[/\\@])tsx([/\\]|$)/.test(a));
  return hasTsx ? kept : [...kept, '--import', tsxLoader];
}
