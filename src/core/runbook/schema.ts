/**
 * The runbook YAML, as a zod schema. This is the one description of the format:
 * the loader validates with it, error messages take their "expected …" from it,
 * and the README's runbook reference is generated from its descriptions and
 * examples (scripts/gen-runbook-reference.ts). Every field therefore carries a
 * `.describe()` and an example; a field without one fails the reference test.
 *
 * The schema checks syntax and converts units; it does not touch the file
 * system. Paths and file: URLs come out as written and are resolved by
 * resolve.ts against the runbook's folder and the state folder.
 */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { passesToChildren } from '../child/child-env.js';
import type { RetrievalTier, StagingLimit, StorageClass } from './types.js';
import { alertRoutes, repeatInterval } from '../config/schema.js';
import { checkPathText, parseRepositoryUrl } from './location.js';
import { checkCopySchedule, checkCopyUrls, copiesSchema } from './copies-schema.js';
import { uniqueNames } from './unique-names.js';
import { hostName } from './host-field.js';
import { objectLockSchema } from './object-lock-schema.js';
import {
  BANDWIDTH_EXAMPLES,
  DURATION_EXAMPLES,
  parseBandwidth,
  parseDuration,
  parsePercentage,
  parseSize,
  SIZE_EXAMPLES,
} from './units.js';

/** What the reference and the error messages know about a field. */
export interface FieldMeta {
  description: string;
  /** The value as it would be written in YAML. */
  example?: string;
  /** A reader's name for the type ("duration", "cron"); derived from the schema when absent. */
  valueType?: string;
}

/** Attach the documentation; must be the outermost call so optional/default wrappers carry it. */
function doc<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  const extra: Record<string, string> = {};
  if (meta.example !== undefined) extra.example = meta.example;
  if (meta.valueType !== undefined) extra.valueType = meta.valueType;
  return schema.describe(meta.description).meta(extra);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Cross-field checks run even when a field already failed, so a file's errors
 * all come out at once; they only need the value to be a mapping (or a list).
 */
const whenMapping = { when: (payload: { value: unknown }) => isRecord(payload.value) };
const whenList = { when: (payload: { value: unknown }) => Array.isArray(payload.value) };

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A scalar written in a unit; YAML numbers are passed through as text so `rpo: 15` says "without a unit". */
function unitValue<T>(parse: (text: string) => T, check?: (value: T, text: string) => string | undefined) {
  return z.union([z.string(), z.number()]).transform((raw, ctx) => {
    const text = String(raw);
    try {
      const value = parse(text);
      const problem = check?.(value, text);
      if (problem === undefined) return value;
      ctx.addIssue({ code: 'custom', message: problem, input: raw });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: errorText(e), input: raw });
    }
    return z.NEVER;
  });
}

const positive = (ms: number, text: string) =>
  ms > 0 ? undefined : `Duration must be more than zero: "${text}" (expected ${DURATION_EXAMPLES})`;

const duration = () => unitValue(parseDuration);
const positiveDuration = () => unitValue(parseDuration, positive);

const percentage = () => unitValue(parsePercentage);

const bandwidth = () =>
  unitValue(parseBandwidth, (bytes, text) =>
    bytes > 0 ? undefined : `Bandwidth must be more than zero: "${text}" (expected ${BANDWIDTH_EXAMPLES})`,
  );

/** transfer.stagingLimit: a size (`2GiB`) or a share of the staging file system's free space (`25%`). */
function parseStagingLimit(text: string): StagingLimit {
  if (text.endsWith('%')) return { fractionOfFree: parsePercentage(text) };
  return { bytes: parseSize(text) };
}

const stagingLimit = () =>
  unitValue(parseStagingLimit, (limit, text) =>
    ('bytes' in limit ? limit.bytes : limit.fractionOfFree) > 0
      ? undefined
      : `Staging limit must be more than zero: "${text}" (expected a size, ${SIZE_EXAMPLES}, or a share of the free space, e.g. 25%)`,
  );

const text = () => z.string().min(1, { error: 'Empty text (expected some text)' });

const command = () => z.string().trim().min(1, { error: 'Empty command (expected a shell command)' });

const pathText = () =>
  z.string().superRefine((value, ctx) => {
    const problem = checkPathText(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });

const kebab = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const runbookName = () =>
  z
    .string()
    .max(64, { error: 'Name longer than 64 characters (expected a short kebab-case id)' })
    .regex(kebab, {
      error: (iss) => `Not a kebab-case name: ${JSON.stringify(iss.input)} (expected lowercase letters, digits and single hyphens, e.g. app-data)`,
    });

// Source names become folder names in snapshots and restores: no slashes, no dot-dot.
const sourceName = () =>
  z
    .string()
    .max(64, { error: 'Name longer than 64 characters (expected a short id)' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
      error: (iss) =>
        `Not a source name: ${JSON.stringify(iss.input)} (expected letters, digits, ".", "_" and "-", starting with a letter or digit, e.g. orders-db)`,
    });

const slackChannel = () =>
  z.string().regex(/^(?:#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{6,})$/, {
    error: (iss) => `Not a Slack channel: ${JSON.stringify(iss.input)} (expected "#channel-name" or a channel id like C0123ABCD)`,
  });

const slackPrincipal = () =>
  z.string().regex(/^(?:[UWS][A-Z0-9]{6,}|@[a-z0-9][a-z0-9._-]*)$/, {
    error: (iss) =>
      `Not a Slack user or group: ${JSON.stringify(iss.input)} (expected a user id like U0123ABC or a handle like @storage-oncall)`,
  });

/**
 * A pure check of one string, remembered: a team's runbooks share a few cron
 * expressions and zones, and parsing them through cron-parser and luxon was
 * most of validating 500 runbook files (~0.5 ms each, issue 18). Bounded, so a
 * long-running serve reloading edited files never grows it without end.
 */
function remembered(check: (text: string) => string | undefined): (text: string) => string | undefined {
  const seen = new Map<string, string | undefined>();
  return (text) => {
    if (seen.has(text)) return seen.get(text);
    const problem = check(text);
    if (seen.size >= 1_000) seen.clear();
    seen.set(text, problem);
    return problem;
  };
}

const cronProblem = remembered((expr: string): string | undefined => {
  const fields = expr.trim().split(/\s+/);
  const expected = 'expected 5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *"';
  if (!expr.trim().startsWith('@') && fields.length !== 5 && fields.length !== 6) {
    return `Bad cron expression ${JSON.stringify(expr)}: ${fields.length} field${fields.length === 1 ? '' : 's'} (${expected})`;
  }
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    return undefined;
  } catch (e) {
    return `Bad cron expression ${JSON.stringify(expr)}: ${errorText(e)} (${expected})`;
  }
});

const cron = () =>
  z.string().superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });

const timezoneProblem = remembered((tz: string): string | undefined => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    // cron-parser reads zones through its own library; make sure it agrees with Intl.
    CronExpressionParser.parse('0 * * * *', { tz }).next();
    return undefined;
  } catch {
    return `Unknown time zone: ${JSON.stringify(tz)} (expected an IANA name, e.g. UTC, Europe/Berlin, America/New_York)`;
  }
});

const timezone = () =>
  z.string().superRefine((value, ctx) => {
    const problem = timezoneProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });

export const STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
] as const satisfies readonly StorageClass[];
export const RETRIEVAL_TIERS = ['Expedited', 'Standard', 'Bulk'] as const satisfies readonly RetrievalTier[];

// Fails to compile when types.ts gains a storage class this list lacks.
const storageClassesComplete: Exclude<StorageClass, (typeof STORAGE_CLASSES)[number]> extends never ? true : never = true;
void storageClassesComplete;

const repositoryUrl = () =>
  z.string().superRefine((value, ctx) => {
    const parsed = parseRepositoryUrl(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: value });
  });

const endpoint = () =>
  z.string().superRefine((value, ctx) => {
    const u = URL.canParse(value) ? new URL(value) : undefined;
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
      ctx.addIssue({
        code: 'custom',
        message: `Not an endpoint URL: ${JSON.stringify(value)} (expected http(s)://host[:port], e.g. http://127.0.0.1:9000)`,
        input: value,
      });
    }
  });

const s3Options = {
  endpoint: doc(endpoint().optional(), {
    description: 'S3-compatible endpoint (MinIO, Ceph, Wasabi…); leave out for AWS S3.',
    example: 'http://127.0.0.1:9000',
    valueType: 'URL',
  }),
  pathStyle: doc(z.boolean().optional(), {
    description: 'Address the bucket as a path (`endpoint/bucket/key`) instead of a subdomain; most self-hosted S3 servers need it.',
    example: 'true',
  }),
  region: doc(
    z
      .string()
      .regex(/^[a-z0-9-]+$/, { error: (iss) => `Not a region: ${JSON.stringify(iss.input)} (expected e.g. us-east-1, eu-central-1)` })
      .optional(),
    { description: 'S3 region of the bucket.', example: 'eu-central-1', valueType: 'region' },
  ),
  objectLock: objectLockSchema.optional(),
};

type LocationDraft = { url?: unknown; endpoint?: unknown; pathStyle?: unknown; region?: unknown; objectLock?: unknown };

/** endpoint, pathStyle and region mean nothing for a folder; saying so beats ignoring them. */
function checkS3OnlyOptions(value: LocationDraft, ctx: z.RefinementCtx): void {
  if (typeof value.url !== 'string' || !value.url.startsWith('file:')) return;
  for (const key of ['endpoint', 'pathStyle', 'region', 'objectLock'] as const) {
    if (value[key] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `"${key}" only applies to s3:// repositories (expected it removed, or an s3:// url)`,
        input: value[key],
      });
    }
  }
}

const hotLocation = z
  .strictObject({
    url: doc(repositoryUrl(), {
      description:
        'Where the repository lives: `file:///absolute/path`, `file:relative/path` (relative to the runbook), or `s3://bucket/prefix`. `${LIFEBOAT_HOME}` is replaced by the state folder.',
      example: '"file:///var/backups/app-data"',
      valueType: 'URL',
    }),
    storageClass: doc(z.enum(STORAGE_CLASSES).optional(), {
      description: 'S3 storage class for new data; leave out for the bucket default.',
      example: 'STANDARD_IA',
      valueType: 'storage class',
    }),
    ...s3Options,
  })
  .superRefine(checkS3OnlyOptions, whenMapping);

const coldLocation = z
  .strictObject({
    url: doc(repositoryUrl(), {
      description: 'Where old snapshots are moved to; same forms as `hot.url`, usually an S3 bucket.',
      example: '"s3://acme-archive/app-data"',
      valueType: 'URL',
    }),
    storageClass: doc(z.enum(STORAGE_CLASSES), {
      description: `Storage class of the cold data (${STORAGE_CLASSES.join(', ')}). Snapshot lists and indexes stay readable at once; only data needs a thaw.`,
      example: 'DEEP_ARCHIVE',
      valueType: 'storage class',
    }),
    after: doc(positiveDuration(), {
      description: 'Snapshots older than this are copied to the cold repository, then forgotten in the hot one.',
      example: '30d',
      valueType: 'duration',
    }),
    retrieval: doc(z.enum(RETRIEVAL_TIERS).default('Standard'), {
      description:
        'How archived packs are thawed for a restore or drill (S3 RestoreObject tier): Expedited (minutes, GLACIER only, costliest), Standard (hours), Bulk (slowest, cheapest).',
      example: 'Standard',
      valueType: 'retrieval tier',
    }),
    thawDays: doc(z.number().int().min(1).max(30).default(1), {
      description: 'How many days a thawed copy stays readable before S3 drops it again.',
      example: '2',
      valueType: 'days',
    }),
    ...s3Options,
  })
  .superRefine(checkS3OnlyOptions, whenMapping)
  .superRefine((value: { storageClass?: unknown; retrieval?: unknown }, ctx) => {
    // S3 refuses Expedited retrievals from Deep Archive; say so at load time, not during an outage.
    if (value.storageClass === 'DEEP_ARCHIVE' && value.retrieval === 'Expedited') {
      ctx.addIssue({
        code: 'custom',
        path: ['retrieval'],
        message: 'DEEP_ARCHIVE cannot be thawed Expedited (expected Standard or Bulk)',
        input: value.retrieval,
      });
    }
  }, whenMapping);

type PasswordDraft = { env?: unknown; file?: unknown; create?: unknown };

const passwordRef = z
  .strictObject({
    env: doc(
      z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/, {
          // The value is not echoed: whatever was written here might be the password itself.
          error: 'Not an environment variable name (expected capitals, digits and "_", e.g. LIFEBOAT_PASSWORD)',
        })
        .refine((name) => !passesToChildren(name), {
          // Child processes get these variables without asking (src/core/child/child-env.ts); a password must not be one.
          error: (iss) => `${String(iss.input)} is passed to every hook and command (PATH, HOME, LANG, LC_*, TZ, USER, SHELL, TERM, TMPDIR, LIFEBOAT_RUN_*), so it cannot hold the password (expected another name, e.g. LIFEBOAT_PASSWORD)`,
        })
        .optional(),
      {
        description: 'Name of the environment variable that holds the password. Set `env` or `file`, not both.',
        example: 'LIFEBOAT_PASSWORD',
        valueType: 'variable name',
      },
    ),
    file: doc(pathText().optional(), {
      description:
        'Key file whose content is the password (a trailing newline is ignored); only its owner may have access (mode 600 or 400). Relative to the runbook; `${LIFEBOAT_HOME}` is replaced by the state folder.',
      example: '"${LIFEBOAT_HOME}/keys/app-data.key"',
      valueType: 'path',
    }),
    create: doc(z.boolean().default(false), {
      description:
        'With `file`: generate a random key into it (mode 600) when it does not exist yet. Keep a copy elsewhere: without it the repository cannot be read.',
      example: 'true',
    }),
  })
  .superRefine((p: PasswordDraft, ctx) => {
    if (p.env !== undefined && p.file !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['file'],
        message: 'Both "env" and "file" are set (expected one of them)',
        input: undefined,
      });
    } else if (p.env === undefined && p.file === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'Neither "env" nor "file" is set (expected { env: NAME } or { file: PATH })',
        input: undefined,
      });
    }
    if (p.env !== undefined && p.create === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['create'],
        message: '"create" only applies to a key file (expected it removed, or "file" instead of "env")',
        input: undefined,
      });
    }
  }, whenMapping);

const password = z
  .any()
  .check((ctx) => {
    if (typeof ctx.value === 'string' || typeof ctx.value === 'number') {
      ctx.issues.push({
        code: 'custom',
        // Never quote the value: it is a password.
        message: 'A password must not be written in a runbook (expected a reference: { env: NAME } or { file: PATH })',
        input: undefined,
      });
    }
  })
  .pipe(passwordRef)
  .transform((ref) =>
    ref.env !== undefined
      ? { kind: 'env' as const, name: ref.env }
      : { kind: 'file' as const, path: ref.file ?? '', create: ref.create },
  );

/**
 * `env:` on a source, on hooks or on drill: variables a child process gets on
 * top of the allowlist (src/core/child/child-env.ts), each value a reference
 * like the password's. Written values are refused for the same reason: a
 * runbook is shared and committed, a secret is not.
 */
/** The problem with a variable name under `env:`, if any. */
function childVariableProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `Not a variable name: ${JSON.stringify(name)} (expected letters, digits and "_", e.g. PGPASSWORD)`;
  // LIFEBOAT_RUN_ID, LIFEBOAT_HOOK_PHASE … are Lifeboat's own facts about the run; a runbook must not shadow them.
  if (name.startsWith('LIFEBOAT_')) return `${name} starts with LIFEBOAT_, which Lifeboat keeps for the facts it passes itself (expected another name)`;
  return undefined;
}

type ValueRefDraft = { env?: unknown; file?: unknown };

/** A value by reference names exactly one place: `{ env: NAME }` or `{ file: PATH }`. */
function exactlyOneOfEnvOrFile(v: ValueRefDraft, ctx: z.RefinementCtx): void {
  if (v.env !== undefined && v.file !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['file'], message: 'Both "env" and "file" are set (expected one of them)', input: undefined });
  } else if (v.env === undefined && v.file === undefined) {
    ctx.addIssue({ code: 'custom', message: 'Neither "env" nor "file" is set (expected { env: NAME } or { file: PATH })', input: undefined });
  }
}

const childValueRef = z
  .strictObject({
    env: doc(
      z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'Not an environment variable name (expected capitals, digits and "_", e.g. ORDERS_DB_PASSWORD)' })
        .refine((name) => !name.startsWith('SLACK_'), {
          error: 'Slack credentials are Lifeboat’s own and never reach a child process (expected another variable)',
        })
        .optional(),
      { description: 'Name of the variable in Lifeboat’s environment to read the value from.', example: 'ORDERS_DB_PASSWORD', valueType: 'variable name' },
    ),
    file: doc(pathText().optional(), {
      description: 'File whose content is the value (a trailing newline is ignored); mode 600 or 400, like a key file.',
      example: '/etc/lifeboat/orders-db.password',
      valueType: 'path',
    }),
  })
  .superRefine(exactlyOneOfEnvOrFile, whenMapping);

const childValue = z
  .any()
  .check((ctx) => {
    if (typeof ctx.value === 'string' || typeof ctx.value === 'number' || typeof ctx.value === 'boolean') {
      ctx.issues.push({
        code: 'custom',
        // Never quote the value: it may well be a secret.
        message: 'A value must not be written in a runbook (expected a reference: { env: NAME } or { file: PATH })',
        input: undefined,
      });
    }
  })
  .pipe(childValueRef)
  .transform((ref) => (ref.env !== undefined ? { kind: 'env' as const, name: ref.env } : { kind: 'file' as const, path: ref.file ?? '', create: false }));

const childEnv = (description: string, example: string) =>
  doc(
    z
      .record(z.string(), childValue)
      .superRefine((env, ctx) => {
        for (const name of Object.keys(env)) {
          const problem = childVariableProblem(name);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem, input: undefined });
        }
      }, whenMapping)
      .optional(),
    { description, example, valueType: 'variables by reference' },
  );

type SourceDraft = { name?: unknown; path?: unknown; exclude?: unknown; command?: unknown; restore?: unknown; env?: unknown };

const source = z
  .strictObject({
    name: doc(sourceName(), {
      description: 'Short id of the source, unique in the runbook; it names the source’s folder in snapshots and restores.',
      example: 'uploads',
      valueType: 'id',
    }),
    path: doc(pathText().optional(), {
      description: 'A file or folder to back up. Relative paths are relative to the runbook’s folder. Set `path` or `command`, not both.',
      example: '/srv/uploads',
      valueType: 'path',
    }),
    exclude: doc(z.array(text()).optional(), {
      description: 'Glob patterns, relative to `path`, of files and folders to leave out (with `path` only).',
      example: '["**/*.tmp", "cache/**"]',
      valueType: 'list of globs',
    }),
    command: doc(command().optional(), {
      description: 'A shell command whose standard output is the backup (a database dump, say). Set `path` or `command`, not both.',
      example: 'pg_dump --format=custom orders',
      valueType: 'command',
    }),
    restore: doc(command().optional(), {
      description: 'With `command`: a shell command that restores and drills pipe the stream back into.',
      example: 'pg_restore --clean --dbname=orders_drill',
      valueType: 'command',
    }),
    env: childEnv(
      'With `command`: variables its `command` and `restore` get, on top of the few every child process gets (PATH, HOME, LANG…; see Child processes above). Each value is a reference, never written here. This is how a source is given a database password or, for `aws s3 cp`, the AWS credentials.',
      '{ PGPASSWORD: { env: ORDERS_DB_PASSWORD } }',
    ),
  })
  .superRefine((s: SourceDraft, ctx) => {
    const hasPath = s.path !== undefined;
    const hasCommand = s.command !== undefined;
    if (hasPath && hasCommand) {
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: 'Both "path" and "command" are set (expected one of them: path for files, command for a stream)',
        input: s.command,
      });
    } else if (!hasPath && !hasCommand) {
      ctx.addIssue({
        code: 'custom',
        message: 'Neither "path" nor "command" is set (expected one of them: path for files, command for a stream)',
        input: s,
      });
    }
    if (!hasPath && hasCommand && s.exclude !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['exclude'],
        message: '"exclude" only applies to a path source (expected it removed, or "path" instead of "command")',
        input: s.exclude,
      });
    }
    if (hasPath && !hasCommand && s.env !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['env'],
        message: '"env" only applies to a command source (expected it removed; a path source starts no process)',
        input: undefined,
      });
    }
    if (hasPath && !hasCommand && s.restore !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['restore'],
        message: '"restore" only applies to a command source (expected it removed; path sources are restored as files)',
        input: s.restore,
      });
    }
  }, whenMapping)
  .transform((s) =>
    s.path !== undefined
      ? { kind: 'path' as const, name: s.name, path: s.path, exclude: s.exclude ?? [] }
      : {
          kind: 'command' as const,
          name: s.name,
          command: s.command ?? '',
          ...(s.restore !== undefined ? { restore: s.restore } : {}),
          ...(s.env !== undefined ? { env: s.env } : {}),
        },
  );

const sources = z
  .array(source)
  .min(1, { error: 'No sources (expected at least one, each with a name and a path or a command)' })
  .superRefine(uniqueNames('source', 'sources'), whenList);

const commandList = (description: string, example: string) =>
  doc(z.array(command()).default([]), { description, example, valueType: 'list of commands' });

const count = (description: string, example: string) =>
  doc(z.number().int().min(0).optional(), { description, example, valueType: 'integer ≥ 0' });

type RetentionDraft = Partial<Record<'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'within', unknown>>;

const retention = z
  .strictObject({
    last: count('Keep the most recent N snapshots.', '3'),
    hourly: count('Keep the last snapshot of each of the last N hours that have one.', '24'),
    daily: count('Keep the last snapshot of each of the last N days that have one.', '7'),
    weekly: count('Keep the last snapshot of each of the last N weeks that have one.', '4'),
    monthly: count('Keep the last snapshot of each of the last N months that have one.', '12'),
    yearly: count('Keep the last snapshot of each of the last N years that have one.', '2'),
    within: doc(duration().optional(), {
      description: 'Keep every snapshot newer than this.',
      example: '2d',
      valueType: 'duration',
    }),
  })
  .superRefine((r: RetentionDraft, ctx) => {
    // A policy that keeps nothing would let `forget` delete every snapshot.
    const keeps = Object.values(r).some((v) => typeof v === 'number' && v > 0);
    const malformed = Object.values(r).some((v) => v !== undefined && typeof v !== 'number');
    if (!keeps && !malformed) {
      ctx.addIssue({
        code: 'custom',
        message: 'Retention keeps nothing (expected at least one of last, hourly, daily, weekly, monthly, yearly above 0, or within)',
        input: r,
      });
    }
  }, whenMapping);

type AnomalyDraft = { window?: unknown; minHistory?: unknown };

/**
 * A dead man's switch URL. A plain string is refused, not accepted: on
 * healthchecks.io and its kin the URL is the credential (whoever has it can
 * report success and silence the switch), and runbooks are committed.
 */
const pingUrl = z
  .any()
  .check((ctx) => {
    if (typeof ctx.value === 'string' || typeof ctx.value === 'number') {
      ctx.issues.push({
        code: 'custom',
        // Not quoted back: the URL is the secret.
        message: 'A ping URL must not be written in a runbook: whoever has it can report success (expected a reference: { env: NAME } or { file: PATH })',
        input: undefined,
      });
    }
  })
  .pipe(
    z
      .strictObject({
        env: doc(
          z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'Not an environment variable name (expected capitals, digits and "_", e.g. HC_PING_URL)' })
            .optional(),
          { description: 'Name of the environment variable that holds the ping URL. Set `env` or `file`, not both.', example: 'HC_PING_URL', valueType: 'variable name' },
        ),
        file: doc(pathText().optional(), {
          description: 'File whose content is the ping URL (a trailing newline is ignored); mode 600 or 400, like a key file. Relative to the runbook.',
          example: '/etc/lifeboat/app-data.ping',
          valueType: 'path',
        }),
      })
      .superRefine(exactlyOneOfEnvOrFile, whenMapping),
  )
  .transform((ref) => (ref.env !== undefined ? { kind: 'env' as const, name: ref.env } : { kind: 'file' as const, path: ref.file ?? '', create: false }));

const anomaly = z
  .strictObject({
    window: doc(z.number().int().min(2).max(1000).default(10), {
      description: 'How many earlier successful runs the size, file count and duration of a run are compared against.',
      example: '20',
      valueType: 'integer 2–1000',
    }),
    minHistory: doc(z.number().int().min(1).max(1000).default(5), {
      description: 'No anomaly alerts until this many runs of history exist.',
      example: '5',
      valueType: 'integer 1–1000',
    }),
    threshold: doc(z.number().positive().default(3.5), {
      description: 'How far from the median, in median absolute deviations, a run must be to raise an alert.',
      example: '4',
      valueType: 'number > 0',
    }),
  })
  .superRefine((a: AnomalyDraft, ctx) => {
    const window = typeof a.window === 'number' ? a.window : 10;
    if (typeof a.minHistory === 'number' && a.minHistory > window) {
      ctx.addIssue({
        code: 'custom',
        path: ['minHistory'],
        message: `minHistory ${a.minHistory} is larger than window ${window} (expected at most the window, or the rule never fires)`,
        input: a.minHistory,
      });
    }
  }, whenMapping);

const cronField = (description: string, example: string) =>
  doc(cron().optional(), { description, example, valueType: 'cron' });

const schedule = z.strictObject({
  backup: cronField('When to back up.', '"0 2 * * *"'),
  verify: cronField('When to check the repository and read back a sample of its data (`verify.readData`).', '"0 4 * * 0"'),
  drill: cronField('When to run a timed restore drill; announced in Slack before it starts.', '"0 10 * * 1"'),
  tier: cronField('When to move old snapshots to the cold repository (needs `repository.cold`).', '"0 5 * * *"'),
  copy: cronField('When to fill `repository.copies` on their own (`lifeboat copy`); needed by a copy with `after: hot`, which backups leave alone.', '"0 6 * * *"'),
  maintain: cronField('When to extend the Object Lock retention of what kept snapshots use (`lifeboat maintain`); daily at 03:30 when left out and a repository has `objectLock`.', '"30 3 * * *"'),
  timezone: doc(timezone().default('UTC'), {
    description: 'IANA time zone the cron expressions are read in.',
    example: 'Europe/Berlin',
    valueType: 'time zone',
  }),
});

type TopDraft = {
  repository?: { hot?: { url?: unknown }; cold?: { url?: unknown }; password?: unknown } | null;
  schedule?: { tier?: unknown } | null;
  sources?: unknown;
  hooks?: unknown;
  drill?: unknown;
};

/** A reference as written (`{ env: X }`) or as parsed (`{ kind: 'env', name: X }`): the cross-field check sees either. */
function referenceOf(value: unknown): { env?: string; file?: string } {
  if (!isRecord(value)) return {};
  if (value.kind === 'env' && typeof value.name === 'string') return { env: value.name };
  if (value.kind === 'file' && typeof value.path === 'string') return { file: value.path };
  return { ...(typeof value.env === 'string' ? { env: value.env } : {}), ...(typeof value.file === 'string' ? { file: value.file } : {}) };
}

/** Every `env:` mapping of a runbook draft, with the path it sits at. */
function childEnvMappings(r: TopDraft): { path: (string | number)[]; env: Record<string, unknown> }[] {
  const out: { path: (string | number)[]; env: Record<string, unknown> }[] = [];
  if (Array.isArray(r.sources)) {
    r.sources.forEach((source: unknown, i) => {
      if (isRecord(source) && isRecord(source.env)) out.push({ path: ['sources', i, 'env'], env: source.env });
    });
  }
  for (const key of ['hooks', 'drill'] as const) {
    const section = r[key];
    if (isRecord(section) && isRecord(section.env)) out.push({ path: [key, 'env'], env: section.env });
  }
  return out;
}

/**
 * The repository password never goes to a child process, not even when a
 * runbook names it in `env:` (other runbooks' passwords are refused when a
 * run starts, see src/core/child/child-env.ts).
 */
function checkPasswordNotPassed(r: TopDraft, ctx: z.RefinementCtx): void {
  const password = referenceOf(r.repository?.password);
  if (password.env === undefined && password.file === undefined) return;
  for (const { path, env } of childEnvMappings(r)) {
    for (const [name, value] of Object.entries(env)) {
      const ref = referenceOf(value);
      const same = (password.env !== undefined && ref.env === password.env) || (password.file !== undefined && ref.file === password.file);
      if (same) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, name],
          message: 'This is the repository password, which no child process gets (expected another variable or file)',
          input: undefined,
        });
      }
    }
  }
}

export const runbookSchema = z
  .strictObject({
    name: doc(runbookName(), {
      description: 'The runbook’s id, in kebab-case. Must match the file name (`app-data` lives in `runbooks/app-data.yaml`); commands, Slack and alerts refer to it.',
      example: 'app-data',
      valueType: 'kebab-case id',
    }),
    description: doc(text().optional(), {
      description: 'One line on what this protects, shown in lists and Slack.',
      example: 'User uploads and the orders database',
    }),
    owner: doc(text().optional(), {
      description: 'Who answers for this backup: a team, a Slack handle, an address.',
      example: '"@storage-oncall"',
    }),
    host: doc(hostName().optional(), {
      description:
        'The host whose `lifeboat agent` runs this runbook’s backups, drills and other jobs (its sources, repository locks and secrets are there). Leave out to run it wherever Lifeboat is started, as on a single machine.',
      example: 'web-01',
      valueType: 'host name',
    }),
    sources: doc(sources, {
      description: 'What to back up: folders and files (`path`), or streams (`command`). One failing source makes the run partial; the others still complete.',
      example: '[{ name: uploads, path: /srv/uploads }]',
      valueType: 'list of sources',
    }),
    hooks: doc(
      z
        .strictObject({
          before: commandList('Shell commands run in order before the backup; a failing one stops the run.', '["sync"]'),
          after: commandList('Shell commands run after the backup, whatever its outcome.', '["systemctl start app"]'),
          env: childEnv(
            'Variables every hook gets, on top of the few every child process gets and the LIFEBOAT_RUN_* facts about the run. Each value is a reference, never written here.',
            '{ APP_ADMIN_TOKEN: { file: /etc/lifeboat/app-admin.token } }',
          ),
        })
        .prefault({}),
      {
        description: 'Commands around each backup, run in a terminal; their output (secrets redacted) is streamed to the TUI and Slack.',
        example: '{ before: ["sync"], after: [] }',
      },
    ),
    repository: doc(
      z.strictObject({
        hot: doc(hotLocation, {
          description: 'The repository every backup goes to and restores come from.',
          example: '{ url: "file:///var/backups/app-data" }',
        }),
        cold: doc(coldLocation.optional(), {
          description: 'A second repository in colder, cheaper storage that old snapshots move to.',
          example: '{ url: "s3://acme-archive/app-data", storageClass: DEEP_ARCHIVE, after: 30d }',
        }),
        copies: copiesSchema({ doc, repositoryUrl, s3Options, storageClass: z.enum(STORAGE_CLASSES), checkS3OnlyOptions, password, valueRef: childValue, retention }),
        password: doc(password, {
          description: 'Where the repository password comes from. A password written in the runbook is refused.',
          example: '{ env: LIFEBOAT_PASSWORD }',
          valueType: 'secret reference',
        }),
      }),
      {
        description: 'Where snapshots are stored, and the password that encrypts them.',
        example: '{ hot: { url: "file:///var/backups/app-data" }, password: { env: LIFEBOAT_PASSWORD } }',
      },
    ),
    schedule: doc(schedule.optional(), {
      description: 'When `lifeboat serve` runs things on its own, as cron expressions (5 fields, or 6 with seconds first). Leave a job out to run it only by hand.',
      example: '{ backup: "0 2 * * *", timezone: Europe/Berlin }',
    }),
    objectives: doc(
      z.strictObject({
        rpo: doc(positiveDuration(), {
          description: 'Recovery point objective: the most data, in time, you accept to lose. A backup older than this raises a stale-backup alert.',
          example: '26h',
          valueType: 'duration',
        }),
        rto: doc(positiveDuration(), {
          description: 'Recovery time objective: how long a restore may take. Drills measure it and alert when it is exceeded.',
          example: '15m',
          valueType: 'duration',
        }),
        coldRto: doc(positiveDuration().optional(), {
          description:
            'Recovery time objective for a restore from the cold repository, thaw included (hours for Glacier, days for Deep Archive). Cold drills and estimates are held to it; without it they are held to `rto`.',
          example: '72h',
          valueType: 'duration',
        }),
      }),
      {
        description: 'The promises this runbook keeps, checked by alerts and drills.',
        example: '{ rpo: 26h, rto: 15m }',
      },
    ),
    retention: doc(retention.optional(), {
      description: 'Which snapshots `forget` keeps; a snapshot kept by any rule stays. Leave out to keep everything. A policy that keeps nothing is refused.',
      example: '{ last: 3, daily: 7, weekly: 4 }',
    }),
    verify: doc(
      z
        .strictObject({
          readData: doc(percentage().prefault('0%'), {
            description: 'Share of the repository’s data read back and checked on each verify, besides checking every pack of the run exists.',
            example: '10%',
            valueType: 'percentage',
          }),
        })
        .prefault({}),
      { description: 'How much checking follows each backup.', example: '{ readData: 10% }' },
    ),
    drill: doc(
      z
        .strictObject({
          check: doc(command().optional(), {
            description: 'Shell command run in the folder the snapshot was restored into, where each source has a folder of its own name; the drill fails unless it exits 0.',
            example: '"test -s uploads/index.json"',
            valueType: 'command',
          }),
          announce: doc(duration().optional(), {
            description: 'Post a notice to the Slack channel this long before a scheduled drill starts.',
            example: '15m',
            valueType: 'duration',
          }),
          timeout: doc(positiveDuration().prefault('10m'), {
            description: 'Give up a drill that has not finished after this long, and record it as failed.',
            example: '30m',
            valueType: 'duration',
          }),
          env: childEnv(
            'Variables `check` gets, on top of the few every child process gets, `LIFEBOAT_DRILL_DIR` and `LIFEBOAT_RUNBOOK`. Each value is a reference, never written here. (A stream source’s `restore` gets the source’s own `env`.)',
            '{ PGPASSWORD: { env: DRILL_DB_PASSWORD } }',
          ),
        })
        .prefault({}),
      { description: 'Timed restore drills: how they are announced and checked.', example: '{ check: "test -s index.json", announce: 15m }' },
    ),
    alerts: doc(
      z
        .strictObject({
          slack: doc(slackChannel().optional(), {
            description: 'Slack channel for alerts, drill announcements and results. Quote it: an unquoted # starts a YAML comment.',
            example: '"#backups"',
            valueType: 'channel',
          }),
          notify: doc(alertRoutes().optional(), {
            description:
              'Where this runbook’s alerts go: sink names from `notify:` in lifeboat.yaml. A bare name gets every alert; `{ sink: NAME, severity: warning }` gets that severity and above (info < warning < critical). Leave out for lifeboat.yaml’s `alerts.notify`; with neither, `slack` alone still posts to that channel.',
            example: '[oncall-slack, { sink: pager, severity: critical }]',
            valueType: 'list of routes',
          }),
          repeat: doc(repeatInterval().optional(), {
            description: 'How often an open, unacknowledged critical alert is told again until it is acknowledged or resolved. Leave out for lifeboat.yaml’s `alerts.repeat` (default 4h).',
            example: '4h',
            valueType: 'duration',
          }),
          ping: doc(
            z.strictObject({
              url: doc(pingUrl, {
                description:
                  'The check’s ping URL, by reference: anyone who has it can report success, so it is a secret. Lifeboat requests `URL/start` when a backup or drill starts, `URL` when it succeeds and `URL/fail` when it fails or is partial.',
                example: '{ env: HC_PING_URL }',
                valueType: 'URL by reference',
              }),
            }).optional(),
            {
              description:
                'Dead man’s switch (healthchecks.io style): pinged at the start and end of every backup and drill, so a Lifeboat that stops running is noticed from outside. A ping that cannot be sent is a warning, never a failed run.',
              example: '{ url: { env: HC_PING_URL } }',
            },
          ),
          anomaly: doc(anomaly.prefault({}), {
            description: 'How runs are compared with their own history.',
            example: '{ window: 10, minHistory: 5, threshold: 3.5 }',
          }),
        })
        .prefault({}),
      { description: 'Where alerts go and how sensitive they are.', example: '{ slack: "#backups", notify: [oncall-slack, { sink: pager, severity: critical }] }' },
    ),
    access: doc(
      z
        .strictObject({
          backup: doc(z.array(slackPrincipal()).default([]), {
            description: 'Slack users or groups who may start backups and other changes from Slack.',
            example: '["@storage-oncall"]',
            valueType: 'list of Slack ids',
          }),
          drill: doc(z.array(slackPrincipal()).default([]), {
            description: 'Slack users or groups who may start restore drills from Slack.',
            example: '["@storage-oncall", "U0123ABC"]',
            valueType: 'list of Slack ids',
          }),
        })
        .prefault({}),
      {
        description: 'Who may start things from Slack. Empty lists mean nobody can from Slack; the terminal is not restricted by this.',
        example: '{ backup: ["@storage-oncall"], drill: ["@storage-oncall"] }',
      },
    ),
    transfer: doc(
      z
        .strictObject({
          concurrency: doc(z.number().int().min(1).max(64).default(4), {
            description: 'How many uploads run at once.',
            example: '8',
            valueType: 'integer 1–64',
          }),
          bandwidth: doc(bandwidth().optional(), {
            description: 'Upper bound on upload speed.',
            example: '50MiB/s',
            valueType: 'bandwidth',
          }),
          stagingLimit: doc(stagingLimit().optional(), {
            description:
              'Most bytes a backup to a remote repository keeps in its local staging folder (objects written there, not yet confirmed uploaded); at the limit, snapshotting waits for uploads, so a backup bigger than the staging disk still fits. A size, or a share of the space free on the staging file system when the run starts. Default: 25% of that free space, at most 1GiB. A pack bigger than the limit is staged alone; a limit under a few packs (16MiB each by default) leaves uploads fewer packs to send side by side.',
            example: '2GiB',
            valueType: 'size or percentage',
          }),
        })
        .prefault({}),
      { description: 'How uploads to the repository behave.', example: '{ concurrency: 4, bandwidth: 50MiB/s, stagingLimit: 2GiB }' },
    ),
  })
  .superRefine((r: TopDraft, ctx) => {
    checkPasswordNotPassed(r, ctx);
    checkCopyUrls(r.repository, ctx);
    checkCopySchedule(r, ctx);
    const hot = r.repository?.hot?.url;
    const cold = r.repository?.cold?.url;
    if (typeof hot === 'string' && hot === cold) {
      ctx.addIssue({
        code: 'custom',
        path: ['repository', 'cold', 'url'],
        message: 'The cold repository is the hot one (expected a different url)',
        input: cold,
      });
    }
    if (isRecord(r.schedule) && r.schedule.tier !== undefined && isRecord(r.repository) && r.repository.cold === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule', 'tier'],
        message: 'A tier schedule without a cold repository (expected repository.cold, or no schedule.tier)',
        input: r.schedule.tier,
      });
    }
  }, whenMapping);

/** The schema's output: units converted, paths and file: URLs still as written. */
export type ParsedRunbook = z.output<typeof runbookSchema>;

