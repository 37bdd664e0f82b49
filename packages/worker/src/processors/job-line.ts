/**
 * A line a sandboxed processor prints about its job. The worker process hands its log format to
 * its processors through PMAMBA_LOG_FORMAT, so that under `json` these lines are JSON too (the
 * fields the worker's pino lines use), not plain text in a JSON stream.
 */
export function jobLine(format: string | undefined, job: { name: string; id?: string }, message: string, now = new Date()): string {
  if (format !== 'json') return `pmamba worker [${job.name} ${job.id}] ${message}\n`;
  return `${JSON.stringify({ level: 30, time: now.toISOString(), pid: process.pid, name: 'pmamba-worker', event: 'job-log', queue: job.name, job: job.id, msg: message })}\n`;
}
