/**
 * A download's progress on stderr: a cli-progress bar on a terminal, plain lines otherwise
 * (CI logs, pipes): one per tenth of the file, and one per retry or restart either way.
 */
import cliProgress from 'cli-progress';
import type { DownloadEvent } from './download.ts';

const MB = 1024 * 1024;
const mb = (n: number) => (n / MB).toFixed(1);

export class DownloadProgress {
  private bar: cliProgress.SingleBar | undefined;
  private lastTenth = -1;
  private startedAt = 0;
  private startedFrom = 0;

  constructor(
    /** Shown in front of every line (the catalog name). */
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  handle(e: DownloadEvent): void {
    switch (e.type) {
      case 'start': {
        this.stopBar();
        this.startedAt = performance.now();
        this.startedFrom = e.offset;
        const size = e.total === undefined ? 'size unknown' : `${mb(e.total)} MB`;
        this.line(e.offset > 0 ? `${this.label}: resuming ${e.url} at ${mb(e.offset)} of ${size}` : `${this.label}: fetching ${e.url} (${size})`);
        if (this.stream.isTTY && e.total !== undefined && e.total > 0) {
          this.bar = new cliProgress.SingleBar(
            { stream: this.stream, format: ` ${this.label} [{bar}] {percentage}% {done}/{size} MB {speed} MB/s eta {eta_formatted}`, hideCursor: true, barsize: 30 },
            cliProgress.Presets.shades_classic,
          );
          this.bar.start(e.total, e.offset, { done: mb(e.offset), size: mb(e.total), speed: '0.0' });
        }
        break;
      }
      case 'progress': {
        if (this.bar) {
          const seconds = (performance.now() - this.startedAt) / 1000;
          const speed = seconds > 0 ? mb((e.received - this.startedFrom) / seconds) : '0.0';
          this.bar.update(e.received, { done: mb(e.received), speed });
          return;
        }
        // Plain output: a line per tenth of a known size, per 10 MB of an unknown one.
        const tenth = e.total ? Math.floor((10 * e.received) / e.total) : Math.floor(e.received / (10 * MB));
        if (tenth === this.lastTenth) return;
        this.lastTenth = tenth;
        this.line(e.total ? `  ${this.label}: ${tenth * 10}% (${mb(e.received)} of ${mb(e.total)} MB)` : `  ${this.label}: ${mb(e.received)} MB`);
        break;
      }
      case 'retry':
        this.stopBar();
        this.line(
          `  ${this.label}: connection lost at ${mb(e.received)}${e.total === undefined ? '' : ` of ${mb(e.total)}`} MB (${e.reason}); ` +
            `retry ${e.attempt}/${e.retries} in ${(e.delayMs / 1000).toFixed(1)} s`,
        );
        break;
      case 'restart':
        this.stopBar();
        this.lastTenth = -1;
        this.line(`  ${this.label}: starting over: ${e.reason}`);
        break;
      case 'verify':
        this.stopBar();
        this.line(`  ${this.label}: checking the sha256 of ${e.bytes} bytes`);
        break;
    }
  }

  stop(): void {
    this.stopBar();
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private line(text: string): void {
    this.stream.write(`${text}\n`);
  }
}
