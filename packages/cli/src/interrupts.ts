/**
 * Ctrl-C and SIGTERM for commands that drive runs: the first signal asks for a graceful stop
 * (coordinators close, workers hand their jobs back); a second quits at once, printing how to
 * continue (the resume hint, once it is known).
 */
export interface Interrupts {
  /** True once a signal came. */
  readonly interrupted: boolean;
  /** How to continue what was stopped, printed if the command quits on a second signal. */
  hint: string | undefined;
  dispose(): void;
}

export function handleInterrupts(what: string, stop: () => void, log: (line: string) => void): Interrupts {
  const state = { interrupted: false, hint: undefined as string | undefined };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.interrupted) {
      if (state.hint) process.stderr.write(`\npmamba: ${state.hint}\n`);
      process.exit(130);
    }
    state.interrupted = true;
    log(`pmamba: ${signal}: stopping ${what} (workers hand their jobs back); again to quit at once`);
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get interrupted() {
      return state.interrupted;
    },
    get hint() {
      return state.hint;
    },
    set hint(text: string | undefined) {
      state.hint = text;
    },
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
