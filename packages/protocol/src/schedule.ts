/**
 * Scheduled retraining: a schedule (schedules/<name>/schedule.json) says which config to train,
 * when (a cron pattern or a fixed interval), under which registered model name the result goes,
 * and what a firing does while the previous run still goes. The store is its home: the scheduler
 * re-creates BullMQ's job schedulers from it, so schedules outlive Redis. Each firing leaves a
 * record (schedules/<name>/firings/<stamp>.json), rewritten as it moves on: queued → running →
 * registered or failed, or skipped at once.
 */
import { z } from 'zod';
import { PayloadError, ProtocolError } from './errors.ts';
import { manifestParser } from './manifests.ts';
import { formatIssues, parseWith } from './issues.ts';
import { ID_PATTERN, IsoDateTimeSchema, RunIdSchema, nonNegativeNumber, positiveInt, runIdStamp } from './primitives.ts';
import { SCHEDULE_QUEUE } from './queues.ts';
import { RunConfigSchema } from './run-config.ts';

/** What a firing does while the schedule's previous run is still going. */
export const SCHEDULE_OVERLAPS = ['skip', 'queue'] as const;
export type ScheduleOverlap = (typeof SCHEDULE_OVERLAPS)[number];

/** A firing's run id is `<schedule>-<YYYYMMDD-HHMMSS>`: the name leaves room for the 16-character stamp within ID_PATTERN's 128. */
const MAX_SCHEDULE_NAME = 100;
const NAME_MESSAGE = `expected a schedule name of 1-${MAX_SCHEDULE_NAME} letters, digits, '_' or '-', starting with a letter or digit`;
export const ScheduleNameSchema = z
  .string({ error: NAME_MESSAGE })
  .regex(ID_PATTERN, { error: NAME_MESSAGE })
  .max(MAX_SCHEDULE_NAME, { error: NAME_MESSAGE });

/** The shortest interval: firings a second apart get distinct stamps (and run ids). */
export const MIN_EVERY_MS = 1000;

/** True for an IANA time zone name this runtime knows (what --tz and BullMQ's cron need). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** When a schedule fires: a cron pattern (5 fields, or 6 with seconds) in a time zone, or every `every` ms. */
export const ScheduleTimingSchema = z.union(
  [
    z.strictObject({
      cron: z.string().trim().min(1).max(200),
      /** IANA time zone of the pattern (Europe/Rome); default: the local zone of the process computing a firing. */
      tz: z.string().refine(isTimeZone, { error: 'expected an IANA time zone such as Europe/Rome or UTC' }).optional(),
    }),
    z.strictObject({
      every: z.int().min(MIN_EVERY_MS, { error: `expected an interval of at least ${MIN_EVERY_MS} ms` }),
    }),
  ],
  { error: 'expected { cron, tz? } or { every } (milliseconds)' },
);
export type ScheduleTiming = z.output<typeof ScheduleTimingSchema>;

/** schedules/<name>/schedule.json */
export const ScheduleSchema = z.strictObject({
  kind: z.literal('pmamba.schedule'),
  version: z.literal(1),
  name: ScheduleNameSchema,
  timing: ScheduleTimingSchema,
  /**
   * The validated run config every firing trains (command-line overrides applied, paths made
   * absolute, no Redis URL): stored whole, so the scheduler needs neither the file nor its folder.
   */
  config: RunConfigSchema.refine((c) => c.sweep === undefined, { error: 'a schedule trains one config: remove its sweep block' }),
  /** The file the config was read from, for people. */
  source: z.string().min(1).max(1000).optional(),
  /** The registered model each run becomes a version of. */
  model: RunIdSchema,
  overlap: z.enum(SCHEDULE_OVERLAPS),
  /** Kept, but not firing. */
  paused: z.boolean(),
  createdAt: IsoDateTimeSchema,
  updatedAt: IsoDateTimeSchema,
});
export type Schedule = z.output<typeof ScheduleSchema>;

export const FIRING_STATUSES = ['queued', 'running', 'registered', 'skipped', 'failed'] as const;
export type FiringStatus = (typeof FIRING_STATUSES)[number];
/** Statuses after which a firing record never changes again. */
export const FINAL_FIRING_STATUSES: readonly FiringStatus[] = ['registered', 'skipped', 'failed'];

/** What a firing did, or is doing. */
export const FiringOutcomeSchema = z.discriminatedUnion('status', [
  /** Waiting for the schedule's run in progress (overlap: queue). */
  z.strictObject({ status: z.literal('queued'), behind: RunIdSchema }),
  z.strictObject({ status: z.literal('running') }),
  /** Trained, evaluated and registered as `version` of the model; the gate's decision beside it. */
  z.strictObject({
    status: z.literal('registered'),
    model: RunIdSchema,
    version: positiveInt(),
    promoted: z.boolean(),
    reason: z.string().min(1),
    /** The champion after registering (null: none). */
    champion: positiveInt().nullable(),
    /** The run's mean mAD, for lists. */
    mad: nonNegativeNumber().nullable().optional(),
  }),
  z.strictObject({ status: z.literal('skipped'), reason: z.string().min(1) }),
  z.strictObject({ status: z.literal('failed'), error: z.string().min(1), code: z.string().min(1).optional() }),
]);
export type FiringOutcome = z.output<typeof FiringOutcomeSchema>;

/** schedules/<name>/firings/<stamp>.json */
export const ScheduleFiringSchema = z.strictObject({
  kind: z.literal('pmamba.schedule-firing'),
  version: z.literal(1),
  schedule: ScheduleNameSchema,
  /** runIdStamp of firedAt: names the record (layout.scheduleFiringKey) and the run. */
  stamp: RunIdSchema,
  /** When the firing was due. */
  firedAt: IsoDateTimeSchema,
  /** The run it trains (also on a skipped firing: the one it would have been). */
  runId: RunIdSchema,
  updatedAt: IsoDateTimeSchema,
  outcome: FiringOutcomeSchema,
});
export type ScheduleFiring = z.output<typeof ScheduleFiringSchema>;

/** A job of SCHEDULE_QUEUE, made by BullMQ's job scheduler of the schedule: the firing's time is the job's. */
export const FiringPayloadSchema = z.strictObject({ schedule: ScheduleNameSchema });
export type FiringPayload = z.output<typeof FiringPayloadSchema>;

/** Validators usable as ArtifactStore.getJson's `parse` argument; `key` names the object in errors. */
export const parseSchedule = manifestParser(ScheduleSchema, 'schedule');
export const parseScheduleFiring = manifestParser(ScheduleFiringSchema, 'schedule firing');

/** Validates a firing job's data; E_PAYLOAD_INVALID names the field. */
export function parseFiringPayload(data: unknown, jobId?: string): FiringPayload {
  return parseWith(FiringPayloadSchema, data, (issues) =>
    new PayloadError('E_PAYLOAD_INVALID', SCHEDULE_QUEUE, `invalid payload for ${SCHEDULE_QUEUE} job${jobId ? ` ${jobId}` : ''}: ${formatIssues(issues)}`, issues),
  );
}

/** `<schedule>-<YYYYMMDD-HHMMSS>`: the run of the firing due at `firedAt` (UTC). */
export function scheduleRunId(schedule: string, firedAt: Date): string {
  const runId = `${schedule}-${runIdStamp(firedAt)}`;
  if (!ID_PATTERN.test(runId)) throw new ProtocolError('E_STORE_KEY', `schedule name ${JSON.stringify(schedule.slice(0, 40))} makes an invalid run id: ${NAME_MESSAGE}`);
  return runId;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/**
 * An interval as people write it — `90s`, `15m`, `6h`, `1d`, `1h30m` — in milliseconds; undefined
 * when the text is not one.
 */
export function parseEvery(text: string): number | undefined {
  const parts = [...text.trim().matchAll(/(\d+)\s*(ms|s|m|h|d)/g)];
  const squeezed = (t: string) => t.replace(/\s+/g, '');
  if (parts.length === 0 || squeezed(parts.map((p) => p[0]).join('')) !== squeezed(text)) return undefined;
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2] as Unit], 0);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** Milliseconds written the way parseEvery reads them, largest units first: 5400000 → `1h30m`. */
export function formatEvery(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * UNIT_MS[unit];
  }
  return parts.join('') || '0ms';
}

/** The timing in words: `every 6h`, `cron "0 3 * * 1" (Europe/Rome)`. */
export function describeTiming(timing: ScheduleTiming): string {
  return 'every' in timing ? `every ${formatEvery(timing.every)}` : `cron "${timing.cron}"${timing.tz ? ` (${timing.tz})` : ''}`;
}
