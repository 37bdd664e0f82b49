/** `pmamba status` as people read it: the run's state, rounds, jobs and newest benchmark table. */
import { reportMarkdown } from '@pmamba/coordinator';
import type { MetricName } from '@pmamba/protocol';
import type { RunJobs } from './run-jobs.ts';
import type { RunProgressInfo } from './run-progress.ts';

export type RunState = 'finished' | 'running' | 'failed' | 'stopped' | 'not finished';

/** finished (run manifest), else from the jobs: running, failed, or stopped (none queued); without Redis, "not finished". */
export function runState(progress: RunProgressInfo, jobs: RunJobs | null): RunState {
  if (progress.finishedAt) return 'finished';
  if (!jobs) return 'not finished';
  const t = jobs.total;
  if (t.active + t.waiting + t['waiting-children'] + t.delayed > 0) return 'running';
  return t.failed > 0 ? 'failed' : 'stopped';
}

const loss = (v: number | null) => (v === null ? '' : ` (last round loss ${v.toFixed(4)})`);

export function statusText(p: RunProgressInfo, jobs: RunJobs | null, jobsNote: string | undefined, columns: readonly MetricName[]): string {
  const state = runState(p, jobs);
  const out: string[] = [];
  out.push(`run ${p.runId}: ${state}${p.finishedAt ? ` at ${p.finishedAt}` : ''} (created ${p.createdAt})`);
  out.push(`  ${p.mode} mode, ${p.classes.length} class(es): ${p.classes.join(', ')}; ${p.rounds} round(s)`);
  const models = Object.entries(p.models);
  if (models.length === 1) out.push(`rounds: ${models[0][1].done}/${p.rounds} done${loss(models[0][1].loss)}`);
  else {
    out.push(`rounds: ${models.filter(([, m]) => m.done === p.rounds).length}/${models.length} model(s) fully trained`);
    for (const [name, m] of models) out.push(`  ${name}: ${m.done}/${p.rounds} done${loss(m.loss)}`);
  }
  if (jobs) {
    const t = jobs.total;
    out.push(
      `jobs (prefix ${jobs.prefix}): ${t.active} active, ${t.waiting} waiting, ${t['waiting-children']} waiting for children, ` +
        `${t.delayed} delayed, ${t.failed} failed, ${t.completed} completed`,
    );
    out.push(`  workers: ${Object.entries(jobs.workers).map(([q, n]) => `${q} ${n ?? '?'}`).join(', ')}`);
    for (const f of jobs.failed) out.push(`  failed: ${f.queue} job ${f.id}: ${f.reason}`);
  } else {
    out.push(`jobs: ${jobsNote ?? 'not checked'}`);
  }
  out.push(`evaluated: ${p.evaluated.length ? p.evaluated.map((r) => (r === 0 ? 'untrained' : `after round ${r}`)).join(', ') : 'not yet'}`);
  if (p.metrics) {
    const when = p.metrics.atRound === 0 ? 'untrained model' : `after ${p.metrics.atRound} of ${p.rounds} round(s)`;
    out.push(`latest metrics (${when}; ${p.metrics.source}):`, '', reportMarkdown(p.metrics.table, columns).trimEnd());
  } else {
    out.push('latest metrics: none yet');
  }
  return `${out.join('\n')}\n`;
}
