/**
 * Worker processes on this machine: `pmamba worker` started as child processes of a command
 * (the demo's two workers, or `pmamba train --local-workers N`). Their log lines are passed to
 * `log` with the worker's number; `stop` shuts them down gracefully (SIGTERM: training jobs
 * are handed back), killing any that do not exit in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { threadsPerProcess } from '@pmamba/model/spec';
import { childExecArgv } from '@pmamba/worker';

export interface LocalWorkerOptions {
  count: number;
  redisUrl: string;
  prefix: string;
  storeUrl: string;
  backend: string;
  /** Extra `pmamba worker` arguments (e.g. lock timings in tests). */
  args?: string[];
  log: (line: string) => void;
}

export interface LocalWorkers {
  readonly processes: readonly ChildProcess[];
  stop(timeoutMs?: number): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export function startLocalWorkers(options: LocalWorkerOptions): LocalWorkers {
  const execArgv = childExecArgv(process.execArgv, import.meta.resolve('tsx'));
  // Share the cores between the local workers' compute threads (scan pool, wasm) instead of each taking all.
  const threads = threadsPerProcess(options.count);
  const processes = Array.from({ length: options.count }, (_, i) => {
    const child = spawn(
      process.execPath,
      [
        ...execArgv,
        MAIN,
        'worker',
        '--prefix',
        options.prefix,
        '--store',
        options.storeUrl,
        '--backend',
        options.backend,
        '--name',
        `local-${i + 1}`,
        ...(options.args ?? []),
      ],
      // The Redis URL (it may hold a password) goes by environment, not argv, which `ps` shows to every local user.
      // A process group of its own: Ctrl-C reaches only this command, which then stops the workers once, gracefully.
      // Their lines join this command's plain output (`[worker 1] …`): plain lines unless PMAMBA_LOG_FORMAT says otherwise.
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, REDIS_URL: options.redisUrl, PMAMBA_THREADS: threads, PMAMBA_LOG_FORMAT: process.env.PMAMBA_LOG_FORMAT || 'pretty' }, detached: true },
    );
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => options.log(`[worker ${i + 1}] ${line}`));
    }
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGTERM' && code !== null) options.log(`[worker ${i + 1}] exited with code ${code}`);
    });
    return child;
  });
  // A worker must not outlive the command that started it, even on process.exit().
  const onExit = () => processes.forEach((p) => p.exitCode === null && p.kill('SIGKILL'));
  process.once('exit', onExit);
  return {
    processes,
    stop: async (timeoutMs = 60_000) => {
      process.off('exit', onExit);
      await Promise.all(
        processes.map(async (p) => {
          if (p.exitCode !== null || p.signalCode !== null) return;
          const exited = new Promise<void>((r) => p.once('exit', () => r()));
          p.kill('SIGTERM');
          const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}
