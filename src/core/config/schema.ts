/**
 * lifeboat.yaml as a zod schema: where state and runbooks live (`home:`,
 * `runbooks:`), the notification sinks (`notify:`), the default alert routing
 * (`alerts:`) and the state store (`store:`). Strict like the runbook schema (an unknown
 * field is an error, so a typo never turns a sink off), every message written
 * for an operator, secrets only by reference. The loader (./load.ts) turns
 * the issues into `lifeboat.yaml:12:8: notify.pager.routingKey: …`.
 *
 * The schema is made per file (`configSchema(dir)`): a `{ file: PATH }`
 * reference is relative to the folder lifeboat.yaml is in.
 */
import path from 'node:path';
import { z } from 'zod';
import type { AlertRoute, SecretRef } from '../runbook/types.js';
import { DURATION_EXAMPLES, parseDuration } from '../runbook/units.js';
import { DEFAULT_REPEAT_MS, DEFAULT_LEADER_LEASE_MS, DEFAULT_STORE_KEEP_MS, type LifeboatConfig, type SinkConfig } from './types.js';

export const SINK_TYPES = ['slack', 'webhook', 'ntfy', 'pagerduty', 'email'] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

export const DEFAULT_SLACK_TOKEN_ENV = 'SLACK_BOT_TOKEN';
export const DEFAULT_NTFY_URL = 'https://ntfy.sh';
export const DEFAULT_PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const whenMapping = { when: (payload: { value: unknown }) => isRecord(payload.value) };

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The problem with a sink name, if any: names are how runbooks route, so they stay plain. */
export function sinkNameProblem(name: string): string | undefined {
  if (name.length > 64) return 'Sink name longer than 64 characters (expected a short kebab-case name)';
  if (!KEBAB.test(name)) {
    return `Not a kebab-case sink name: ${JSON.stringify(name)} (expected lowercase letters, digits and single hyphens, e.g. oncall-slack)`;
  }
  return undefined;
}

const sinkName = () =>
  z.string().superRefine((value, ctx) => {
    const problem = sinkNameProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });

const httpUrl = (example: string) =>
  z.string().superRefine((value, ctx) => {
    const u = URL.canParse(value) ? new URL(value) : undefined;
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
      // Only the start is shown: the rest of a URL may carry a token.
      const shown = JSON.stringify(value.length > 24 ? `${value.slice(0, 21)}...` : value);
      ctx.addIssue({ code: 'custom', message: `Not an http(s) URL: ${shown} (expected e.g. ${example})`, input: undefined });
    }
  });

const text = (what: string) => z.string().min(1, { error: `Empty ${what} (expected some text)` });

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;
/** A bare address or `Name <address>`, as nodemailer takes it. */
const mailbox = () =>
  z.string().superRefine((value, ctx) => {
    const address = /<([^<>]+)>\s*$/.exec(value)?.[1] ?? value;
    if (!EMAIL.test(address.trim())) {
      ctx.addIssue({
        code: 'custom',
        message: `Not an email address: ${JSON.stringify(value)} (expected e.g. oncall@example.com or "Lifeboat <lifeboat@example.com>")`,
        input: value,
      });
    }
  });

const slackChannel = () =>
  z.string().regex(/^(?:#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{6,})$/, {
    error: (iss) => `Not a Slack channel: ${JSON.stringify(iss.input)} (expected "#channel-name" or a channel id like C0123ABCD; quote it: an unquoted # starts a YAML comment)`,
  });

/**
 * A secret by reference. What was written inline is refused without being
 * quoted back: it is the secret. `what` names the secret in the message.
 */
const secretRef = (what: string, baseDir: string) =>
  z
    .any()
    .check((ctx) => {
      if (typeof ctx.value === 'string' || typeof ctx.value === 'number' || typeof ctx.value === 'boolean') {
        ctx.issues.push({
          code: 'custom',
          message: `${what} must not be written in lifeboat.yaml (expected a reference: { env: NAME } or { file: PATH })`,
          input: undefined,
        });
      }
    })
    .pipe(
      z
        .strictObject({
          env: z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'Not an environment variable name (expected capitals, digits and "_", e.g. PD_ROUTING_KEY)' })
            .optional(),
          file: z.string().min(1, { error: 'Empty path (expected a file holding the secret)' }).optional(),
        })
        .superRefine((ref: { env?: unknown; file?: unknown }, ctx) => {
          if (ref.env !== undefined && ref.file !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['file'], message: 'Both "env" and "file" are set (expected one of them)', input: undefined });
          } else if (ref.env === undefined && ref.file === undefined) {
            ctx.addIssue({ code: 'custom', message: 'Neither "env" nor "file" is set (expected { env: NAME } or { file: PATH })', input: undefined });
          }
        }, whenMapping),
    )
    .transform(
      (ref): SecretRef =>
        ref.env !== undefined ? { kind: 'env', name: ref.env } : { kind: 'file', path: path.resolve(baseDir, ref.file ?? ''), create: false },
    );

/** The fields every sink of a type may have, for "did you mean" on unknown fields. */
function sinkObjects(baseDir: string) {
  const ref = (what: string) => secretRef(what, baseDir);
  return {
    slack: z.strictObject({
      type: z.literal('slack'),
      channel: slackChannel(),
      token: ref('A Slack token').optional(),
    }),
    webhook: z.strictObject({
      type: z.literal('webhook'),
      url: httpUrl('https://hooks.example.com/lifeboat'),
      secret: ref('A webhook secret').optional(),
    }),
    ntfy: z.strictObject({
      type: z.literal('ntfy'),
      url: httpUrl(DEFAULT_NTFY_URL).optional(),
      topic: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
        error: (iss) => `Not an ntfy topic: ${JSON.stringify(iss.input)} (expected letters, digits, "_" and "-", e.g. lifeboat-ops)`,
      }),
      token: ref('An ntfy access token').optional(),
    }),
    pagerduty: z.strictObject({
      type: z.literal('pagerduty'),
      routingKey: ref('A PagerDuty routing key'),
      url: httpUrl(DEFAULT_PAGERDUTY_URL).optional(),
    }),
    email: z.strictObject({
      type: z.literal('email'),
      smtp: z.strictObject({
        host: text('SMTP host'),
        port: z.number().int().min(1).max(65535, { error: 'Not a port (expected 1–65535, e.g. 587)' }).optional(),
        secure: z.boolean().optional(),
        user: text('SMTP user').optional(),
        password: ref('An SMTP password').optional(),
      }),
      from: mailbox(),
      to: z.array(mailbox()).min(1, { error: 'No recipients (expected at least one address, e.g. ["oncall@example.com"])' }),
    }),
  };
}

/** Allowed keys by sink type, and of the nested mappings, for "did you mean" hints. */
const shapes = sinkObjects('/');
export const SINK_KEYS: Readonly<Record<(typeof SINK_TYPES)[number], readonly string[]>> = {
  slack: Object.keys(shapes.slack.shape),
  webhook: Object.keys(shapes.webhook.shape),
  ntfy: Object.keys(shapes.ntfy.shape),
  pagerduty: Object.keys(shapes.pagerduty.shape),
  email: Object.keys(shapes.email.shape),
};
export const SMTP_KEYS: readonly string[] = Object.keys(shapes.email.shape.smtp.shape);
export const REF_KEYS: readonly string[] = ['env', 'file'];
export const ROUTE_KEYS: readonly string[] = ['sink', 'severity'];
export const ALERTS_KEYS: readonly string[] = ['repeat', 'notify'];
export const TOP_KEYS: readonly string[] = ['home', 'runbooks', 'notify', 'alerts', 'store'];
export const STORE_KEYS: readonly string[] = ['url', 'keep'];
/** Fields that hold secret references. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['token', 'secret', 'routingKey', 'password']);

function toSinkConfig(raw: z.output<ReturnType<typeof sinkSchema>>): SinkConfig {
  switch (raw.type) {
    case 'slack':
      return { type: 'slack', channel: raw.channel, token: raw.token ?? { kind: 'env', name: DEFAULT_SLACK_TOKEN_ENV } };
    case 'webhook':
      return { type: 'webhook', url: raw.url, ...(raw.secret ? { secret: raw.secret } : {}) };
    case 'ntfy':
      return { type: 'ntfy', url: raw.url ?? DEFAULT_NTFY_URL, topic: raw.topic, ...(raw.token ? { token: raw.token } : {}) };
    case 'pagerduty':
      return { type: 'pagerduty', routingKey: raw.routingKey, url: raw.url ?? DEFAULT_PAGERDUTY_URL };
    case 'email': {
      const port = raw.smtp.port ?? 587;
      return {
        type: 'email',
        smtp: {
          host: raw.smtp.host,
          port,
          // Port 465 speaks TLS from the first byte; the others start plain and upgrade (STARTTLS).
          secure: raw.smtp.secure ?? port === 465,
          ...(raw.smtp.user !== undefined ? { user: raw.smtp.user } : {}),
          ...(raw.smtp.password ? { password: raw.smtp.password } : {}),
        },
        from: raw.from,
        to: [...raw.to],
      };
    }
  }
}

function sinkSchema(baseDir: string) {
  const objects = sinkObjects(baseDir);
  return z
    .any()
    .check((ctx) => {
      const value: unknown = ctx.value;
      const expected = `expected a mapping with type: ${SINK_TYPES.join(' | ')}`;
      if (!isRecord(value)) {
        ctx.issues.push({ code: 'custom', message: `Not a sink (${expected})`, input: undefined });
      } else if (value.type === undefined) {
        ctx.issues.push({ code: 'custom', path: ['type'], message: `Missing "type" (${expected.replace('a mapping with ', '')})`, input: undefined });
      } else if (!(SINK_TYPES as readonly unknown[]).includes(value.type)) {
        ctx.issues.push({
          code: 'custom',
          path: ['type'],
          message: `Unknown sink type ${JSON.stringify(value.type)} (expected one of ${SINK_TYPES.join(', ')})`,
          input: value.type,
        });
      }
    })
    .pipe(z.discriminatedUnion('type', [objects.slack, objects.webhook, objects.ntfy, objects.pagerduty, objects.email]));
}

// A bare name is `{ sink: name }`: one shape to check, so a bad severity is named as such rather than "matches neither form".
const route = () =>
  z.preprocess(
    (v) => (typeof v === 'string' ? { sink: v } : v),
    z
      .strictObject({
        sink: sinkName()
          .describe('Name of a sink under `notify:` in lifeboat.yaml.')
          .meta({ example: 'pager', valueType: 'sink name' }),
        severity: z
          .enum(SEVERITIES, { error: `Unknown severity (expected one of ${SEVERITIES.join(', ')}: that severity and above)` })
          .optional()
          .describe('The least severe alerts this sink gets (info < warning < critical); leave out for every alert.')
          .meta({ example: 'critical', valueType: 'severity' }),
      })
      .transform((r): AlertRoute => (r.severity ? { sink: r.sink, severity: r.severity } : { sink: r.sink })),
  );

/**
 * A list of routes, as in a runbook's `alerts.notify` and lifeboat.yaml's:
 * a bare sink name (every severity) or `{ sink, severity }` (that severity
 * and above). Shared with the runbook schema so both read the same.
 */
export const alertRoutes = () =>
  z
    .array(
      z
        .any()
        .check((ctx) => {
          const v: unknown = ctx.value;
          const problem = typeof v === 'string' ? sinkNameProblem(v) : undefined;
          if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: v });
          else if (typeof v !== 'string' && !isRecord(v)) {
            ctx.issues.push({
              code: 'custom',
              message: 'Not a route (expected a sink name, e.g. oncall-slack, or { sink: pager, severity: critical })',
              input: undefined,
            });
          }
        })
        .pipe(route()),
    )
    .superRefine(
      (routes: unknown[], ctx) => {
        // Runs even when an item failed, so every problem shows at once: items may still be as written.
        const seen = new Set<string>();
        routes.forEach((r, i) => {
          const sink = typeof r === 'string' ? r : isRecord(r) && typeof r.sink === 'string' ? r.sink : undefined;
          if (sink === undefined) return;
          if (seen.has(sink)) ctx.addIssue({ code: 'custom', path: [i], message: `Sink "${sink}" is routed twice (expected each sink once)`, input: undefined });
          seen.add(sink);
        });
      },
      { when: (payload: { value: unknown }) => Array.isArray(payload.value) },
    );

const repeat = () =>
  z.union([z.string(), z.number()]).transform((raw, ctx) => {
    try {
      const ms = parseDuration(String(raw));
      if (ms > 0) return ms;
      ctx.addIssue({ code: 'custom', message: `Duration must be more than zero: "${String(raw)}" (expected ${DURATION_EXAMPLES})`, input: raw });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message, input: raw });
    }
    return z.NEVER;
  });

/** A repeat interval (`4h`): durations as in runbooks, more than zero. Shared with the runbook schema. */
export const repeatInterval = repeat;

/** `store:` — PostgreSQL by a URL given by reference (it holds the password), history kept by age. */
const storeSchema = (baseDir: string) =>
  z.strictObject({
    url: secretRef('The store URL', baseDir),
    keep: repeat().optional(),
    leaderLease: repeat()
      .refine((ms) => ms >= 3_000 && ms <= 600_000, { message: 'The leader lease must be from 3s to 10m (a leader that dies is replaced within it and a third)' })
      .optional(),
  });

/**
 * `home:` and `runbooks:` — a folder, absolute or relative to lifeboat.yaml's
 * own folder (not the working folder: the file must mean the same wherever
 * Lifeboat is started from). Variables and `~` are refused rather than left
 * for a shell that never sees them.
 */
const folder = (what: string, baseDir: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      const problem = folderProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${problem} (expected the ${what}: an absolute path or one relative to lifeboat.yaml)`, input: value });
    })
    .transform((value) => path.resolve(baseDir, value));

function folderProblem(value: string): string | undefined {
  if (value.trim() === '') return 'Empty path';
  if (value.includes('\0')) return 'Path contains a NUL byte';
  if (value === '~' || value.startsWith('~/')) return '"~" is not expanded';
  if (/\$\{[^}]*\}|\$[A-Za-z_]/.test(value)) return `Variables are not expanded: ${JSON.stringify(value)}`;
  return undefined;
}

export function configSchema(baseDir: string) {
  return z
    .strictObject({
      home: folder('state folder', baseDir).optional(),
      runbooks: folder('runbooks folder', baseDir).optional(),
      notify: z
        .record(z.string(), sinkSchema(baseDir))
        .superRefine((sinks, ctx) => {
          for (const name of Object.keys(sinks)) {
            const problem = sinkNameProblem(name);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem, input: undefined });
          }
        }, whenMapping)
        .default({}),
      alerts: z
        .strictObject({
          repeat: repeat().optional(),
          notify: alertRoutes().default([]),
        })
        .prefault({}),
      store: storeSchema(baseDir).optional(),
    })
    .superRefine((c: { notify?: unknown; alerts?: { notify?: unknown } }, ctx) => {
      // The default route must name sinks that exist: there is no implicit sink at this level.
      if (!isRecord(c.notify) || !isRecord(c.alerts) || !Array.isArray(c.alerts.notify)) return;
      const defined = Object.keys(c.notify);
      c.alerts.notify.forEach((r: unknown, i) => {
        const sink = isRecord(r) && typeof r.sink === 'string' ? r.sink : undefined;
        if (sink === undefined || defined.includes(sink)) return;
        ctx.addIssue({
          code: 'custom',
          path: ['alerts', 'notify', i],
          message: `No sink named "${sink}" under notify: (${defined.length > 0 ? `defined: ${defined.join(', ')}` : 'none is defined'})`,
          input: undefined,
        });
      });
    }, whenMapping)
    .transform(
      (c): Omit<LifeboatConfig, 'file'> => ({
        ...(c.home !== undefined ? { home: c.home } : {}),
        ...(c.runbooks !== undefined ? { runbooks: c.runbooks } : {}),
        notify: Object.fromEntries(Object.entries(c.notify).map(([name, raw]) => [name, toSinkConfig(raw)])),
        alerts: { repeatMs: c.alerts.repeat ?? DEFAULT_REPEAT_MS, notify: c.alerts.notify },
        ...(c.store ? { store: { url: c.store.url, keepMs: c.store.keep ?? DEFAULT_STORE_KEEP_MS, leaderLeaseMs: c.store.leaderLease ?? DEFAULT_LEADER_LEASE_MS } } : {}),
      }),
    );
}
