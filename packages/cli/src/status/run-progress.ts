/**
 * Where a run stands by its store alone: the rounds each model finished (round manifests are
 * written last in a round, so one existing means the round is complete), and the newest
 * metrics — the run manifest's table once the run finished, else the newest report a finished
 * evaluation wrote (after the last round, else the latest `eval-at/<r>`).
 */
import { layout, parseReportTable, parseRoundManifest, parseRunManifest, type ReportTable, type RunRecord } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';

export interface ModelRounds {
  /** Rounds complete, counted from round 0 without gaps. */
  done: number;
  /** Sample-weighted mean loss of the last complete round. */
  loss: number | null;
  finishedAt: string | null;
}

export interface LatestMetrics {
  /** Where the table comes from: `run manifest`, or the store key of the report. */
  source: string;
  /** Rounds trained when evaluated (0: the untrained model). */
  atRound: number;
  table: ReportTable;
}

export interface RunProgressInfo {
  runId: string;
  createdAt: string;
  mode: string;
  classes: string[];
  rounds: number;
  /** Per model (`unified`, or one per class). */
  models: Record<string, ModelRounds>;
  /** When the run manifest was written: the run finished. */
  finishedAt: string | null;
  /** Rounds with an evaluation report, ascending (0: untrained). */
  evaluated: number[];
  metrics: LatestMetrics | null;
}

export async function readRunProgress(store: ArtifactStore, record: RunRecord): Promise<RunProgressInfo> {
  const { runId } = record;
  const rounds = record.plan.rounds;
  // One listing of the rounds instead of a look-up per round and model.
  const keys = new Set((await store.list(`${layout.runPrefix(runId)}rounds/`)).map((o) => o.key));
  const models: Record<string, ModelRounds> = {};
  for (const model of record.plan.models) {
    let done = 0;
    while (done < rounds && keys.has(layout.roundManifestKey(runId, done, model))) done++;
    const last = done > 0 ? await store.getJson(layout.roundManifestKey(runId, done - 1, model), (v) => parseRoundManifest(v, model)) : undefined;
    models[model] = { done, loss: last?.loss ?? null, finishedAt: last?.createdAt ?? null };
  }

  const manifestKey = layout.runManifestKey(runId);
  const manifest = (await store.exists(manifestKey)) ? await store.getJson(manifestKey, (v) => parseRunManifest(v, manifestKey)) : undefined;
  const finalReport = layout.reportKey(runId, 'json');
  const earlier = (await store.list(`${layout.runPrefix(runId)}eval-at/`))
    .map((o) => /eval-at\/(\d+)\/report\/report\.json$/.exec(o.key))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const hasFinal = await store.exists(finalReport);
  const evaluated = [...earlier, ...(hasFinal ? [rounds] : [])];

  let metrics: LatestMetrics | null = null;
  if (manifest?.table) metrics = { source: 'run manifest', atRound: manifest.rounds, table: manifest.table };
  else if (evaluated.length > 0) {
    const atRound = evaluated.at(-1)!;
    const key = atRound === rounds && hasFinal ? finalReport : layout.reportKey(runId, 'json', atRound);
    metrics = { source: key, atRound, table: await store.getJson(key, (v) => parseReportTable(v, key)) };
  }
  return {
    runId,
    createdAt: record.createdAt,
    mode: record.plan.mode,
    classes: record.plan.classes,
    rounds,
    models,
    finishedAt: manifest?.createdAt ?? null,
    evaluated,
    metrics,
  };
}
