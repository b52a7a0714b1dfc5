/**
 * From what the schema accepted to the Runbook the engine uses: paths and file:
 * URLs made absolute, the state folder expanded, everything frozen so no stage
 * can change the plan another stage reads.
 */
import path from 'node:path';
import { parseRepositoryUrl, resolvePath, resolveRepositoryUrl } from './location.js';
import type { ParsedRunbook } from './schema.js';
import { resolveCopies } from './copies-resolve.js';
import type { ChildEnvRefs, ColdLocation, RepositoryLocation, Runbook, SecretRef, Source } from './types.js';

export interface ResolveContext {
  /** Absolute path of the YAML file. */
  file: string;
  /** Absolute path of the state folder, for `${LIFEBOAT_HOME}`. */
  home: string;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

type ParsedLocation = ParsedRunbook['repository']['hot'];

function location(loc: ParsedLocation, ctx: { baseDir: string; home: string }): RepositoryLocation {
  const parsed = parseRepositoryUrl(loc.url);
  // The schema already refused bad URLs; this only happens if the two fell out of step.
  if (typeof parsed === 'string') throw new Error(`unreachable: ${parsed}`);
  const out: RepositoryLocation = { url: resolveRepositoryUrl(parsed, ctx) };
  if (loc.storageClass !== undefined) out.storageClass = loc.storageClass;
  if (loc.endpoint !== undefined) out.endpoint = loc.endpoint;
  if (loc.pathStyle !== undefined) out.pathStyle = loc.pathStyle;
  if (loc.region !== undefined) out.region = loc.region;
  if (loc.objectLock !== undefined) out.objectLock = { ...loc.objectLock };
  return out;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

type Where = { baseDir: string; home: string };

function secretRef(ref: SecretRef, where: Where): SecretRef {
  return ref.kind === 'env' ? { kind: 'env', name: ref.name } : { kind: 'file', path: resolvePath(ref.path, where), create: ref.create };
}

/** `env:` mappings with their file references made absolute, like the password's. */
function childEnv(refs: Readonly<Record<string, SecretRef>> | undefined, where: Where): ChildEnvRefs | undefined {
  if (refs === undefined) return undefined;
  return Object.fromEntries(Object.entries(refs).map(([name, ref]) => [name, secretRef(ref, where)]));
}

export function resolveRunbook(parsed: ParsedRunbook, ctx: ResolveContext): Runbook {
  const where = { baseDir: path.dirname(ctx.file), home: ctx.home };
  const sources: Source[] = parsed.sources.map((s) =>
    s.kind === 'path'
      ? { kind: 'path', name: s.name, path: resolvePath(s.path, where), exclude: [...s.exclude] }
      : withoutUndefined({ kind: 'command', name: s.name, command: s.command, restore: s.restore, env: childEnv(s.env, where) }),
  );
  const password = secretRef(parsed.repository.password, where);
  const cold = parsed.repository.cold;
  const runbook: Runbook = withoutUndefined({
    name: parsed.name,
    description: parsed.description,
    owner: parsed.owner,
    host: parsed.host,
    file: ctx.file,
    sources,
    hooks: withoutUndefined({ before: [...parsed.hooks.before], after: [...parsed.hooks.after], env: childEnv(parsed.hooks.env, where) }),
    repository: withoutUndefined({
      hot: location(parsed.repository.hot, where),
      cold: cold === undefined ? undefined : ({ ...location(cold, where), afterMs: cold.after, retrieval: cold.retrieval, thawDays: cold.thawDays } satisfies ColdLocation),
      copies: resolveCopies(parsed.repository.copies, where),
      password,
    }),
    schedule: parsed.schedule === undefined ? undefined : withoutUndefined({ ...parsed.schedule }),
    objectives: withoutUndefined({ rpoMs: parsed.objectives.rpo, rtoMs: parsed.objectives.rto, coldRtoMs: parsed.objectives.coldRto }),
    retention:
      parsed.retention === undefined
        ? undefined
        : withoutUndefined({
            last: parsed.retention.last,
            hourly: parsed.retention.hourly,
            daily: parsed.retention.daily,
            weekly: parsed.retention.weekly,
            monthly: parsed.retention.monthly,
            yearly: parsed.retention.yearly,
            withinMs: parsed.retention.within,
          }),
    verify: { readDataFraction: parsed.verify.readData },
    drill: withoutUndefined({ check: parsed.drill.check, announceMs: parsed.drill.announce, timeoutMs: parsed.drill.timeout, env: childEnv(parsed.drill.env, where) }),
    alerts: withoutUndefined({
      slack: parsed.alerts.slack,
      notify: parsed.alerts.notify?.map((r) => ({ ...r })),
      repeatMs: parsed.alerts.repeat,
      ping: parsed.alerts.ping === undefined ? undefined : { url: secretRef(parsed.alerts.ping.url, where) },
      anomaly: { ...parsed.alerts.anomaly },
    }),
    access: { backup: [...parsed.access.backup], drill: [...parsed.access.drill] },
    transfer: withoutUndefined({ concurrency: parsed.transfer.concurrency, bandwidthBytesPerSec: parsed.transfer.bandwidth, stagingLimit: parsed.transfer.stagingLimit }),
  });
  return deepFreeze(runbook);
}
