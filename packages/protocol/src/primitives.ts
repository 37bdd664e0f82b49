/**
 * Building blocks shared by configs, payloads and manifests, each with the message a user
 * should read when a value does not fit.
 */
import { z } from 'zod';

const says = (error: string) => ({ error });

export const positiveInt = () => z.int(says('expected a positive integer')).min(1, says('expected a positive integer'));
/** A positive integer with a sanity bound: a typo like 1e9 rounds fails at once instead of queueing work forever. */
export const boundedInt = (max: number, what: string) => positiveInt().max(max, says(`expected at most ${max.toLocaleString('en')} ${what}`));
export const nonNegativeInt = () =>
  z.int(says('expected a non-negative integer')).min(0, says('expected a non-negative integer'));
export const positiveNumber = () =>
  z.number(says('expected a positive number')).gt(0, says('expected a positive number'));
export const nonNegativeNumber = () =>
  z.number(says('expected a non-negative number')).min(0, says('expected a non-negative number'));
/** A number in (0, 1]. */
export const unitFraction = () =>
  z.number(says('expected a number in (0, 1]')).gt(0, says('expected a number in (0, 1]')).max(1, says('expected a number in (0, 1]'));

/**
 * Run and job ids: one store key segment without dots, so `<job>.json` never collides with a
 * sibling's name. The store key layout (layout.ts) checks ids against this same pattern.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const ID_MESSAGE = "expected an id of 1-128 letters, digits, '_' or '-', starting with a letter or digit";
export const RunIdSchema = z.string(says(ID_MESSAGE)).regex(ID_PATTERN, says(ID_MESSAGE));
export const JobIdSchema = RunIdSchema;

/** The time part of a generated run id: UTC `YYYYMMDD-HHMMSS`, sortable and a valid id segment. */
export function runIdStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A store key segment's limit in UTF-8 bytes: room under the usual 255-byte file-name limit for temp and sidecar names. */
export const MAX_SEGMENT_BYTES = 200;

/**
 * A dataset class name (folder name): becomes one store key segment, so no '/', '\', control
 * characters, '.' or '..' (nor the store's reserved '.pmamba-' prefix), and at most
 * MAX_SEGMENT_BYTES bytes of UTF-8. Store key layout applies the same rule to every segment
 * taken from data (class, model and heatmap file names); the store enforces it on every key.
 */
export const CLASS_NAME_PATTERN = /^(?!\.\.?$)(?!\.pmamba-)[^/\\\u0000-\u001f\u007f]+$/;
const utf8 = new TextEncoder();
const fitsSegment = (value: string): boolean => utf8.encode(value).length <= MAX_SEGMENT_BYTES;
export const isKeySegment = (value: string): boolean => CLASS_NAME_PATTERN.test(value) && fitsSegment(value);
const CLASS_MESSAGE = "expected a class name: a folder name without '/', '\\' or control characters, not '.' or '..'";
export const ClassNameSchema = z
  .string(says(CLASS_MESSAGE))
  .regex(CLASS_NAME_PATTERN, says(CLASS_MESSAGE))
  .refine(fitsSegment, says(`expected a class name of at most ${MAX_SEGMENT_BYTES} bytes (UTF-8)`));

/** A model's name in store keys: `unified`, or the class in per-class mode. */
export const ModelNameSchema = ClassNameSchema;

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
export const Sha256Schema = z.string(says('expected a sha256: 64 lower-case hex digits')).regex(SHA256_PATTERN, says('expected a sha256: 64 lower-case hex digits'));

/** A relative store key (the store enforces the full rules again on use). */
const KEY_MESSAGE = "expected a store key: a relative path of '/'-separated segments, without '.', '..', '\\' or empty segments";
export const StoreKeySchema = z
  .string(says(KEY_MESSAGE))
  .regex(/^(?!\/)(?!.*\/\/)(?!.*\/$)(?!(?:.*\/)?\.\.?(?:\/|$))[^\\\u0000-\u001f\u007f]{1,1024}$/, says(KEY_MESSAGE));

/** An object in the artifact store, cited by key, content hash and size. */
export const ArtifactRefSchema = z.strictObject({
  key: StoreKeySchema,
  sha256: Sha256Schema,
  /** Bytes. */
  size: nonNegativeInt(),
});
export type ArtifactRef = z.infer<typeof ArtifactRefSchema>;

export const IsoDateTimeSchema = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2025-01-31T12:00:00Z' });

/** A list whose items must be distinct; the message names the repeated one. */
export function distinct<T extends z.ZodType>(item: T, what: string) {
  return z.array(item).superRefine((list, ctx) => {
    const seen = new Set<unknown>();
    list.forEach((value, i) => {
      if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [i], message: `${what} ${JSON.stringify(value)} is listed twice` });
      seen.add(value);
    });
  });
}
