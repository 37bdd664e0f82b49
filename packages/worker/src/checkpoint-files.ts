/**
 * Checkpoint files are immutable (layout.checkpointVersionKey): each checkpoint writes new ones,
 * its state record publishes them, and only then do the replaced ones go.
 */
import { layout } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';

/** After a new state record is published: removes the files of the one it replaced. */
export async function removeReplaced(store: ArtifactStore, replaced: readonly (string | undefined)[], kept: readonly string[]): Promise<void> {
  await Promise.all(replaced.filter((k): k is string => k !== undefined && !kept.includes(k)).map((k) => store.delete(k)));
}

/** When the job's result is in: every file of its checkpoint, then the state record. */
export async function removeCheckpoint(store: ArtifactStore, stateKey: string): Promise<void> {
  const files = await store.list(layout.checkpointFilesPrefix(stateKey));
  await Promise.all(files.map((f) => f.key).filter((k) => k !== stateKey).map((k) => store.delete(k)));
  await store.delete(stateKey);
}
