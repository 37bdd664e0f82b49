/** The compute backends' names, apart from ./backend.ts so CLIs can offer them without loading tfjs. */

/** Compute backends in order of preference for `auto`. */
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';
