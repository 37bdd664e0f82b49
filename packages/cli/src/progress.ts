/**
 * Progress of a run on stderr: one bar per running job (cli-progress) on a terminal, plain
 * lines otherwise (CI logs, pipes) — or, given a logger (`--log-format json`, the default off a
 * terminal), JSON lines carrying the run, round and job ids. Lines from elsewhere (worker
 * processes, warnings) go through `log` so they never tear a bar.
 */
import cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import type { CoordinatorEvent } from '@pmamba/coordinator';

/** Ids a structured line carries. */
type LineFields = { round?: number; model?: string; job?: string; queue?: string; evalRound?: number };

export class RunProgress {
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; label: string }>();
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly lastLine = new Map<string, string>();

  private runId: string | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly logger?: Logger,
  ) {
    this.multi = stream.isTTY && !logger
      ? new cliProgress.MultiBar(
          {
            stream,
            format: ' {label} [{bar}] {value}/{total} {unit} {info}',
            barsize: 24,
            hideCursor: true,
            clearOnComplete: false,
            autopadding: true,
            forceRedraw: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  }

  /** A line above the bars. */
  log(line: string, fields: LineFields = {}): void {
    if (this.logger) {
      this.logger.info({ ...(this.runId ? { run: this.runId } : {}), ...fields }, line.replace(/^pmamba: /, ''));
      return;
    }
    const text = line.endsWith('\n') ? line : `${line}\n`;
    if (this.multi) this.multi.log(text);
    else this.stream.write(text);
  }

  /** A counter bar of its own (e.g. generating the synthetic set). */
  counter(label: string, total: number): { update(done: number): void; stop(): void } {
    if (!this.multi) {
      this.log(`${label}: ${total} to do`);
      return { update: () => undefined, stop: () => this.log(`${label}: done`) };
    }
    const bar = this.multi.create(total, 0, { label, unit: '', info: '' });
    return { update: (done) => bar.update(done), stop: () => this.multi?.remove(bar) };
  }

  handle(event: CoordinatorEvent): void {
    switch (event.type) {
      case 'run-started': {
        const r = event.record;
        this.runId = r.runId;
        const asked = r.config.training.workers * r.plan.models.length;
        const fewer = event.jobsPerRound < asked ? ` (training.workers asks for ${asked}; there are only ${event.jobsPerRound} shard(s) of training images to give them)` : '';
        this.log(
          `pmamba: ${event.resumed ? 'resuming' : 'starting'} run ${r.runId}: ${r.plan.mode} mode, ${r.plan.classes.length} class(es) ` +
            `(${r.plan.classes.join(', ')}), ${r.plan.rounds} round(s) × ${event.jobsPerRound} train-shard job(s)${fewer}, ` +
            `${r.config.dataset.imageSize}² images, model preset ${r.config.model.preset}`,
        );
        break;
      }
      case 'teacher-started':
        this.log(`teacher: pretraining on the training images (fingerprint ${event.fingerprint.slice(0, 12)}…; later runs on the same images reuse it)`);
        break;
      case 'teacher-ready':
        this.dropBars('teacher pretraining');
        this.log(`${event.description}${event.fromStore ? '' : ' — made now'}`);
        break;
      case 'round-started':
        this.log(`round ${event.round + 1}/${event.rounds}${event.model === 'unified' ? '' : ` of ${event.model}`}: ${event.jobs.length} train-shard job(s)`, { round: event.round, model: event.model });
        break;
      case 'round-finished':
        this.dropBars(`round ${event.round + 1}/`);
        this.log(
          `round ${event.round + 1}/${event.rounds}${event.model === 'unified' ? '' : ` of ${event.model}`} ` +
            `${event.fromStore ? 'already done' : 'done'}: mean loss ${event.loss.toFixed(4)} over ${event.samples} images`,
          { round: event.round, model: event.model },
        );
        break;
      case 'map-fit-started':
        this.log(`fitting the anomaly map (${event.map === 'memory' ? 'memory bank' : 'residual Gaussian'}) of the ${event.atRound === 0 ? 'untrained model' : `model after round ${event.atRound}`} on its training images`, { evalRound: event.atRound });
        break;
      case 'map-fit-finished':
        this.dropBars(`fit map ${event.atRound === 0 ? 'untrained' : `round ${event.atRound}`}`);
        this.log(`anomaly map of ${event.model} fitted on ${event.images} training images`, { evalRound: event.atRound });
        break;
      case 'evaluation-started':
        this.log(`evaluating the ${event.atRound === 0 ? 'untrained model (initial weights)' : `model after round ${event.atRound}`}: ${event.jobs.length} class(es)`, { evalRound: event.atRound });
        break;
      case 'evaluation-finished': {
        this.dropBars(`evaluate ${event.atRound === 0 ? 'untrained' : `round ${event.atRound}`} `);
        const mad = event.result.table.mean.mad;
        this.log(`evaluation ${event.atRound === 0 ? 'untrained' : `after round ${event.atRound}`} done: mean mAD ${mad === null ? '—' : `${(mad * 100).toFixed(1)}%`}`, { evalRound: event.atRound });
        break;
      }
      case 'job-progress':
        this.progress(event);
        break;
      case 'no-workers':
        this.log(
          `pmamba: no worker has served the ${event.queue} queue for ${event.seconds} s; start one with ` +
            '`pmamba worker --redis URL --store URL --prefix PREFIX` (the same Redis, store and prefix as this run)',
        );
        break;
      case 'warning':
        this.log(`pmamba: ${event.message}`);
        break;
    }
  }

  private progress(e: Extract<CoordinatorEvent, { type: 'job-progress' }>): void {
    const info =
      e.state === 'active' || e.state === 'completed'
        ? e.loss !== undefined
          ? `loss ${e.loss.toFixed(3)}`
          : ''
        : e.state === 'delayed'
          ? `retrying (attempt ${e.attemptsMade + 1})`
          : e.state;
    if (this.multi) {
      const payload = { label: e.job.label, unit: e.unit ?? '', info };
      const found = this.bars.get(e.job.id);
      if (found) {
        found.bar.setTotal(e.total);
        found.bar.update(e.done, payload);
      } else {
        this.bars.set(e.job.id, { bar: this.multi.create(e.total, e.done, payload), label: e.job.label });
      }
      return;
    }
    // Plain output: a line when a job starts, every quarter of its work, and when it ends.
    const quarter = e.total > 0 ? Math.floor((4 * e.done) / e.total) : 0;
    const key = `${e.state}:${quarter}`;
    if (this.lastLine.get(e.job.id) === key || e.state === 'waiting' || e.state === 'waiting-children') return;
    this.lastLine.set(e.job.id, key);
    this.log(e.unit === undefined ? `  ${e.job.label}: ${e.state}` : `  ${e.job.label}: ${e.state} ${e.done}/${e.total} ${e.unit} ${info}`.trimEnd(), { job: e.job.id, queue: e.job.queue });
  }

  private dropBars(labelPrefix: string): void {
    if (!this.multi) return;
    for (const [id, { bar, label }] of this.bars) {
      if (label.includes(labelPrefix)) {
        bar.stop();
        this.multi.remove(bar);
        this.bars.delete(id);
      }
    }
  }

  stop(): void {
    this.multi?.stop();
  }
}
