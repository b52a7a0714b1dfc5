/**
 * A fleet job (issue 19): what a console, Slack or serve's scheduler puts on a
 * host's queue (queue.ts) for that host's agent to run, and what the agent
 * hands back.
 *
 * The runbook travels whole (its file's text and that text's SHA-256) so the
 * agent runs exactly what was asked, validated again there with the normal
 * loader. Secrets never travel: a runbook only holds references (`{ env }`,
 * `{ file }`), resolved on the agent from its own environment and files.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import type { Actor } from '../store/records.js';

/** The operator actions a fleet job can carry; each is the command of the same vocabulary (commandOfFleetKind). */
export const FLEET_JOB_KINDS = ['backup', 'drill', 'check', 'forget', 'tier', 'resume'] as const;
export type FleetJobKind = (typeof FLEET_JOB_KINDS)[number];

/** The command each kind runs, by its registry name. */
export const commandOfFleetKind = {
  backup: 'backup',
  drill: 'restore-drill',
  check: 'check',
  forget: 'forget',
  tier: 'tier',
  resume: 'resume',
} as const satisfies Record<FleetJobKind, string>;

/** The kind of job a command becomes when it is dispatched; undefined: the command never leaves this process. */
export function fleetKindOfCommand(command: string): FleetJobKind | undefined {
  return FLEET_JOB_KINDS.find((k) => commandOfFleetKind[k] === command);
}

export interface FleetRunbook {
  name: string;
  /** The host whose agent must run it (the runbook's `host:`). */
  host: string;
  /** The runbook file's text, as read where the job was asked for. */
  content: string;
  /** SHA-256 of `content` (hex): the agent refuses a job whose text does not match it. */
  sha256: string;
}

export interface FleetJob {
  v: 1;
  kind: FleetJobKind;
  /**
   * The command's arguments, typed as its schema gives them (JSON-safe: strings,
   * numbers, booleans), with `runbook` the runbook's name.
   */
  args: { runbook: string } & Record<string, unknown>;
  /** How the request reads in the audit log (as the face received it). */
  argv: string[];
  runbook: FleetRunbook;
  /** Who asked, from which face: the agent records the run and the audit entry as theirs. */
  actor: Actor;
  /** Where the request came from (a channel, a tty), for the audit log. */
  where?: string;
  /** ISO instant the job was asked for. */
  requestedAt: string;
}

/** What the agent hands back: the command's neutral result (commands/command.ts CommandResult), JSON-safe. */
export interface FleetJobOutcome {
  exitCode: number;
  summary?: string;
  lines?: string[];
  table?: { columns: { key: string; header: string; align?: 'left' | 'right' }[]; rows: Record<string, string>[] };
  data?: unknown;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const actorSchema = z.object({ face: z.enum(['cli', 'tui', 'slack', 'scheduler']), user: z.string().min(1) });

const fleetJobSchema = z.object({
  v: z.literal(1),
  kind: z.enum(FLEET_JOB_KINDS),
  args: z.looseObject({ runbook: z.string().min(1) }),
  argv: z.array(z.string()),
  runbook: z.object({ name: z.string().min(1), host: z.string().min(1), content: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  actor: actorSchema,
  where: z.string().optional(),
  requestedAt: z.string(),
});

/**
 * The job as the agent may trust it: the shape checked, and the runbook's text
 * matching its hash (a payload edited in the queue, or cut short, is refused
 * before anything is parsed). Throws RUNBOOK_INVALID (exit 2) saying what and where.
 */
export function checkFleetJob(data: unknown, jobId: string): FleetJob {
  const parsed = fleetJobSchema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const at = first?.path.length ? first.path.join('.') : 'the payload';
    throw new LifeboatError('RUNBOOK_INVALID', `Fleet job ${jobId}: ${at}: ${first?.message ?? 'not a Lifeboat job'}`, { details: { jobId } });
  }
  const job = parsed.data as FleetJob;
  const actual = sha256Hex(job.runbook.content);
  if (actual !== job.runbook.sha256) {
    throw new LifeboatError(
      'RUNBOOK_INVALID',
      `Fleet job ${jobId}: the runbook ${job.runbook.name}'s text does not match its hash (sha256 ${actual.slice(0, 12)}…, the job says ${job.runbook.sha256.slice(0, 12)}…): refused, nothing ran`,
      { details: { jobId, runbook: job.runbook.name } },
    );
  }
  if (job.args.runbook !== job.runbook.name) {
    throw new LifeboatError('RUNBOOK_INVALID', `Fleet job ${jobId}: args.runbook "${job.args.runbook}" is not the runbook it carries (${job.runbook.name})`, { details: { jobId } });
  }
  return job;
}
