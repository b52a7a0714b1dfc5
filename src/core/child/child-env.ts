/**
 * What a child process of Lifeboat finds in its environment: hooks (in a pty),
 * stream sources, stream restores and drill checks all get theirs from here,
 * and the spawners in ./spawn.ts take nothing else (a `ChildEnv` can only be
 * made by this module).
 *
 * The policy, in full:
 * 1. From Lifeboat's own environment, only PATH, HOME, LANG, LC_*, TZ, USER,
 *    SHELL, TERM, TMPDIR and LIFEBOAT_RUN_*. Everything else stays behind:
 *    repository passwords, SLACK_*, AWS_*, the other LIFEBOAT_* settings and
 *    whatever else the daemon was started with.
 * 2. What the runbook names for that kind of child (`env:` on the source, on
 *    `hooks`, on `drill`), each value by reference (`{ env: NAME }`,
 *    `{ file: PATH }`), read when the child starts. This is how a source gets
 *    a database password or, for `aws s3 cp`, the AWS credentials. A
 *    reference that resolves to a repository password (of any runbook
 *    Lifeboat knows) or a Slack credential is refused: SECRET_REFUSED.
 * 3. Lifeboat's facts about the run (LIFEBOAT_RUN_ID, LIFEBOAT_HOOK_PHASE,
 *    LIFEBOAT_DRILL_DIR …), which win over both. They are redacted too: a run
 *    error handed to an after hook must not carry a secret into it.
 *
 * The repository password variable can never be allowlisted by accident: the
 * runbook schema refuses a password variable that rule 1 would pass.
 */
import { LifeboatError } from '../errors.js';
import type { Redactor } from '../redaction/redactor.js';
import { peekSecret, resolveSecret, type SecretEnv } from '../runbook/secrets.js';
import type { ChildEnvRefs, Runbook } from '../runbook/types.js';

const PASSED_NAMES: ReadonlySet<string> = new Set(['PATH', 'HOME', 'LANG', 'TZ', 'USER', 'SHELL', 'TERM', 'TMPDIR']);
const PASSED_PREFIXES = ['LC_', 'LIFEBOAT_RUN_'] as const;

/** Does a variable of Lifeboat's environment reach child processes without being named (rule 1)? */
export function passesToChildren(name: string): boolean {
  return PASSED_NAMES.has(name) || PASSED_PREFIXES.some((p) => name.startsWith(p));
}

declare const childEnvBrand: unique symbol;
/** A child's complete environment, made only by {@link childEnvironment} and {@link withFacts}. */
export type ChildEnv = Readonly<Record<string, string>> & { readonly [childEnvBrand]: true };

export interface ChildEnvRequest {
  /** Lifeboat's own environment: where allowlisted variables and `{ env: NAME }` references are read. */
  parent: SecretEnv;
  /** The runbook's `env:` for this kind of child. */
  optIn?: ChildEnvRefs;
  /** Lifeboat's facts for the child; names start with LIFEBOAT_. */
  facts?: Readonly<Record<string, string>>;
  /**
   * The secrets Lifeboat knows: references resolving to a password or Slack
   * credential are refused, passed values are learned (so output echoing them
   * is redacted), and facts are redacted.
   */
  secrets?: Redactor;
  /** Where the `env:` is, for messages: `sources[orders-db].env`, `hooks.env`, `drill.env`. */
  where: string;
}

export async function childEnvironment(request: ChildEnvRequest): Promise<ChildEnv> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.parent)) {
    if (value !== undefined && passesToChildren(name)) env[name] = value;
  }
  for (const [name, ref] of Object.entries(request.optIn ?? {})) {
    const field = `${request.where}.${name}`;
    const value = await resolveSecret(ref, request.parent, `the value of ${field}`);
    refuseForbidden(field, value, request.secrets);
    request.secrets?.add(name, value, 'child-variable');
    env[name] = value;
  }
  return withFacts(env as ChildEnv, request.facts ?? {}, request.secrets);
}

/** The same environment with Lifeboat's facts about the run added (hooks add their phase per call). */
export function withFacts(base: ChildEnv, facts: Readonly<Record<string, string>>, secrets?: Redactor): ChildEnv {
  const env: Record<string, string> = { ...base };
  for (const [name, value] of Object.entries(facts)) {
    if (!name.startsWith('LIFEBOAT_')) throw new Error(`unreachable: a fact for a child process must be a LIFEBOAT_ variable, got ${name}`);
    env[name] = secrets ? secrets.redact(value) : value;
  }
  return env as ChildEnv;
}

/** Every `env:` of a runbook with where it is: its stream sources', its hooks', its drill check's. */
export function runbookChildEnvs(runbook: Runbook): { where: string; optIn: ChildEnvRefs }[] {
  const out: { where: string; optIn: ChildEnvRefs }[] = [];
  for (const source of runbook.sources) if (source.kind === 'command' && source.env) out.push({ where: `sources[${source.name}].env`, optIn: source.env });
  if (runbook.hooks.env) out.push({ where: 'hooks.env', optIn: runbook.hooks.env });
  if (runbook.drill.env) out.push({ where: 'drill.env', optIn: runbook.drill.env });
  return out;
}

/**
 * Check every `env:` of a runbook against the policy before a run starts any
 * child, so a runbook that would hand a child a password fails at once,
 * before its first hook, with the field named. A value that cannot be read
 * now is not this check's business: the child that needs it reports it (a
 * stream source fails alone, the others still run).
 */
export async function checkChildEnvironments(runbook: Runbook, parent: SecretEnv, secrets: Redactor): Promise<void> {
  for (const { where, optIn } of runbookChildEnvs(runbook)) {
    for (const [name, ref] of Object.entries(optIn)) {
      const value = await peekSecret(ref, parent);
      if (value !== undefined) refuseForbidden(`${where}.${name}`, value, secrets);
    }
  }
}

function refuseForbidden(field: string, value: string, secrets: Redactor | undefined): void {
  const forbidden = secrets?.forbiddenForChildren(value);
  if (!forbidden) return;
  const what = forbidden.kind === 'slack' ? `Lifeboat's Slack credential ${forbidden.name}` : `a repository password (${forbidden.name})`;
  throw new LifeboatError('SECRET_REFUSED', `${field} refers to ${what}, which no child process is given (expected another variable or file)`, {
    details: { field },
  });
}
