/**
 * How a worker process configures its sandboxed processors: environment variables set on the
 * forked child (BullMQ passes only the job itself over IPC).
 */
import type { BackendChoice } from '@pmamba/model/spec';

export const CHILD_ENV = {
  /** Artifact store URL (file://… or s3://…). */
  store: 'PMAMBA_STORE_URL',
  /** Compute backend: auto, tensorflow-gpu, tensorflow, wasm or cpu. */
  backend: 'PMAMBA_BACKEND',
} as const;

export interface ChildSettings {
  storeUrl: string;
  backend: BackendChoice;
}

export function childEnv(settings: ChildSettings): Record<string, string> {
  return { [CHILD_ENV.store]: settings.storeUrl, [CHILD_ENV.backend]: settings.backend };
}

export function readChildEnv(env: Readonly<Record<string, string | undefined>> = process.env): ChildSettings {
  const storeUrl = env[CHILD_ENV.store];
  if (!storeUrl) throw new Error(`${CHILD_ENV.store} is not set: processors run inside \`pmamba worker\`, which sets it from --store`);
  return { storeUrl, backend: (env[CHILD_ENV.backend] as BackendChoice | undefined) ?? 'auto' };
}
