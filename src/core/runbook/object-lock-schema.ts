/**
 * `objectLock` on a repository location (hot, cold, a copy): every object is
 * written under S3 Object Lock with a retain-until date `days` ahead, so a
 * stolen backup credential cannot delete or overwrite a backup for that long
 * (docs/object-lock.md). S3 only: schema.ts refuses it on a file: url with
 * the field's path, like the other S3-only fields.
 *
 * Standalone (zod only) so schema.ts and the copies schema can both take it.
 */
import { z } from 'zod';

export const OBJECT_LOCK_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
export type ObjectLockMode = (typeof OBJECT_LOCK_MODES)[number];

/** The parsed field, as the backend and the maintain job take it. */
export interface ObjectLockSettings {
  mode: ObjectLockMode;
  /** Retention of every object written, in days from its write (or from its last extension). */
  days: number;
}

/** S3 allows retention far longer; ten years is past any backup policy we know and catches a slip of the keyboard (36500). */
const MAX_DAYS = 3650;

const described = <T extends z.ZodType>(schema: T, description: string, example: string, valueType?: string): T =>
  schema.describe(description).meta(valueType === undefined ? { example } : { example, valueType });

export const objectLockSchema = described(
  z.strictObject({
    mode: described(
      z.enum(OBJECT_LOCK_MODES, { error: (iss) => `Not an Object Lock mode: ${JSON.stringify(iss.input)} (expected GOVERNANCE or COMPLIANCE)` }),
      'GOVERNANCE: an account with s3:BypassGovernanceRetention can still remove objects early; COMPLIANCE: nobody can, the root account included, until the date passes.',
      'COMPLIANCE',
      'lock mode',
    ),
    days: described(
      z
        .number({ error: (iss) => `Not a number of days: ${JSON.stringify(iss.input)} (expected a whole number such as 30)` })
        .int({ error: (iss) => `Not a whole number of days: ${JSON.stringify(iss.input)} (expected e.g. 30)` })
        .min(1, { error: (iss) => `${JSON.stringify(iss.input)} days of retention (expected at least 1)` })
        .max(MAX_DAYS, { error: (iss) => `${JSON.stringify(iss.input)} days of retention (expected at most ${MAX_DAYS})` }),
      'How long every object stays undeletable after it is written; `lifeboat maintain` extends it for objects kept snapshots still use.',
      '30',
      'days',
    ),
  }),
  'Write every object under S3 Object Lock (the bucket must have Object Lock enabled; init creates it so when it creates the bucket). forget and prune then delete only what is past its retention.',
  '{ mode: COMPLIANCE, days: 30 }',
);
