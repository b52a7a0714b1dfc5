/**
 * `repository.copies`: further repositories that every snapshot of the
 * runbook is copied into (3-2-1: another bucket, region or provider, with a
 * key and credentials of its own), filled by the copy stage of each backup
 * (src/core/copies/copies-stage.ts).
 *
 * The schema's building blocks (doc, URL, S3 options, secret references,
 * retention, cron) live in schema.ts, which imports this file; they are handed
 * in rather than imported so the two modules do not import each other.
 */
import { z } from 'zod';
import { objectLockSchema } from './object-lock-schema.js';
import { uniqueNames } from './unique-names.js';

export interface FieldDoc {
  description: string;
  example?: string;
  valueType?: string;
}

/**
 * What schema.ts lends this file; see the file comment. Generic so the parsed
 * copy keeps the types of the parts (a password reference stays one).
 */
export interface CopiesSchemaParts<Password extends z.ZodType, ValueRef extends z.ZodType, Retention extends z.ZodType, StorageClass extends z.ZodType, S3 extends z.ZodRawShape> {
  doc: <T extends z.ZodType>(schema: T, meta: FieldDoc) => T;
  repositoryUrl: () => z.ZodType<string>;
  /** endpoint, pathStyle and region, as hot and cold have them. */
  s3Options: S3;
  storageClass: StorageClass;
  /** Refuses S3-only fields on a file: url. */
  checkS3OnlyOptions: (value: { url?: unknown; endpoint?: unknown; pathStyle?: unknown; region?: unknown }, ctx: z.RefinementCtx) => void;
  /** The repository password's reference schema ({ env } or { file }, never a value). */
  password: Password;
  /** A value by reference ({ env } or { file }), like a child variable's. */
  valueRef: ValueRef;
  retention: Retention;
}

const kebab = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export const COPY_AFTER = ['backup', 'hot'] as const;

/** The `repository.copies` field (optional list). */
export function copiesSchema<Password extends z.ZodType, ValueRef extends z.ZodType, Retention extends z.ZodType, StorageClass extends z.ZodType, S3 extends z.ZodRawShape>(
  p: CopiesSchemaParts<Password, ValueRef, Retention, StorageClass, S3>,
) {
  const { doc } = p;
  const credentials = z.strictObject({
    accessKeyId: doc(p.valueRef, { description: 'The access key id, by reference.', example: '{ env: OFFSITE_AWS_ACCESS_KEY_ID }', valueType: 'secret reference' }),
    secretAccessKey: doc(p.valueRef, { description: 'The secret access key, by reference.', example: '{ env: OFFSITE_AWS_SECRET_ACCESS_KEY }', valueType: 'secret reference' }),
  });
  const copy = z
    .strictObject({
      name: doc(
        z
          .string()
          .max(32, { error: 'Name longer than 32 characters (expected a short kebab-case id)' })
          .regex(kebab, { error: (iss) => `Not a kebab-case name: ${JSON.stringify(iss.input)} (expected lowercase letters, digits and single hyphens, e.g. offsite)` }),
        { description: 'Short id of the copy, unique in the runbook; alerts, status and `restore-drill --copy` name it.', example: 'offsite', valueType: 'kebab-case id' },
      ),
      url: doc(p.repositoryUrl(), {
        description: 'Where the copy lives; same forms as `hot.url`, usually a bucket in another region or at another provider. Not the hot, the cold or another copy’s url.',
        example: '"s3://acme-offsite/app-data"',
        valueType: 'URL',
      }),
      password: doc(p.password.optional(), {
        description: 'Where the copy’s password comes from; leave out to use `repository.password`. Either way the copy has a master key of its own.',
        example: '{ env: OFFSITE_PASSWORD }',
        valueType: 'secret reference',
      }),
      credentials: doc(credentials.optional(), {
        description:
          'S3 credentials for this copy alone, by reference; leave out for the SDK’s standard chain (environment, profile, instance role), as the hot repository uses. A copy at another provider or account needs its own.',
        example: '{ accessKeyId: { env: OFFSITE_KEY_ID }, secretAccessKey: { env: OFFSITE_SECRET } }',
      }),
      storageClass: doc(p.storageClass.optional(), {
        description: 'S3 storage class for the copy’s data; leave out for the bucket default.',
        example: 'STANDARD_IA',
        valueType: 'storage class',
      }),
      ...p.s3Options,
      objectLock: objectLockSchema.optional(),
      after: doc(z.enum(COPY_AFTER).default('backup'), {
        description:
          'When the copy is filled: `backup`, by the copy stage of every backup run, after the backup verified; `hot`, from the hot repository only when `lifeboat copy` runs (on `schedule.copy`), so backups stay as fast as without the copy.',
        example: 'hot',
      }),
      keep: doc(p.retention.optional(), {
        description: 'Which of the copy’s snapshots to keep, like `retention`; leave out to keep every snapshot copied.',
        example: '{ daily: 30, monthly: 12 }',
      }),
    })
    .superRefine(p.checkS3OnlyOptions, { when: (payload) => isRecord(payload.value) })
    .superRefine((value: { url?: unknown; credentials?: unknown }, ctx) => {
      if (value.credentials !== undefined && typeof value.url === 'string' && value.url.startsWith('file:')) {
        ctx.addIssue({ code: 'custom', path: ['credentials'], message: '"credentials" only applies to s3:// repositories (expected it removed, or an s3:// url)', input: undefined });
      }
    }, { when: (payload) => isRecord(payload.value) });

  return doc(
    z
      .array(copy)
      .superRefine(uniqueNames('copy', 'copies'), { when: (payload) => Array.isArray(payload.value) })
      .optional(),
    {
      description:
        'Further repositories every snapshot is copied into (3-2-1: another bucket, region or provider), each with its own key, credentials and retention. A copy that cannot be reached makes the run partial and raises `copy-failed`; the next run catches up what it lacks.',
      example: '[{ name: offsite, url: "s3://acme-offsite/app-data", region: eu-west-1 }]',
      valueType: 'list of copies',
    },
  );
}

/**
 * A copy must be a repository of its own: not the hot one, not the cold one,
 * not another copy. Run from the runbook's cross-field check, on the draft.
 */
export function checkCopyUrls(repository: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(repository) || !Array.isArray(repository.copies)) return;
  const urlOf = (v: unknown) => (isRecord(v) && typeof v.url === 'string' ? normalizeUrl(v.url) : undefined);
  const taken = new Map<string, string>();
  const hot = urlOf(repository.hot);
  const cold = urlOf(repository.cold);
  if (hot !== undefined) taken.set(hot, 'the hot repository');
  if (cold !== undefined && !taken.has(cold)) taken.set(cold, 'the cold repository');
  repository.copies.forEach((copy: unknown, index) => {
    const url = urlOf(copy);
    if (url === undefined) return;
    const owner = taken.get(url);
    if (owner !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['repository', 'copies', index, 'url'],
        message: `This copy's url is ${owner}'s (expected a repository of its own: another bucket, prefix or folder)`,
        input: (copy as { url: string }).url,
      });
    } else {
      taken.set(url, `copies[${index}]`);
    }
  });
}

/** A copy filled only by `lifeboat copy` (`after: hot`) needs serve to run it: `schedule.copy`. */
export function checkCopySchedule(runbook: { repository?: unknown; schedule?: unknown }, ctx: z.RefinementCtx): void {
  const repository = runbook.repository;
  if (!isRecord(repository) || !Array.isArray(repository.copies)) return;
  if (isRecord(runbook.schedule) && runbook.schedule.copy !== undefined) return;
  repository.copies.forEach((copy: unknown, index) => {
    if (isRecord(copy) && copy.after === 'hot') {
      ctx.addIssue({
        code: 'custom',
        path: ['repository', 'copies', index, 'after'],
        message: 'A copy with "after: hot" is filled only by `lifeboat copy`, and there is no schedule.copy (expected schedule.copy, e.g. "0 6 * * *", or after: backup)',
        input: copy.after,
      });
    }
  });
}

/** Trailing slashes do not make another repository. */
function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '');
}
