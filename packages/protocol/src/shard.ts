/**
 * A shard: one class's slice of normal training images. @pmamba/data's planShards returns this
 * type, so its output validates as is.
 */
import { z } from 'zod';
import { ClassNameSchema, nonNegativeInt } from './primitives.ts';

export const ShardSchema = z.strictObject({
  /** `<class>/<index>`, unique within a run's plan. */
  id: z.string().min(1).max(300),
  className: ClassNameSchema,
  /** Position of the shard within its class, from 0. */
  index: nonNegativeInt(),
  /** Sample ids: image paths relative to the dataset root. */
  items: z.array(z.string().min(1)).min(1, { error: 'expected a shard with at least one image' }),
});
export type Shard = z.infer<typeof ShardSchema>;
