/**
 * `lifeboat agent`'s arguments: what help shows, and the typed options the
 * host runs with. Kept apart from agent-host.ts so help loads neither the
 * queue nor pg.
 */
import { parseArgs } from 'node:util';
import type { OptionSpec } from '../../commands/command.js';
import { hostNameProblem, LifeboatError, parseDuration } from '../core/index.js';

/** Heartbeats: six in the 60 s after which the leader calls an agent lost (src/core/fleet/lost-agents.ts). */
export const DEFAULT_HEARTBEAT = '10s';
/** How often the queue is read when no wake-up came (a dispatcher wakes the agent at once; this is the fallback). */
export const DEFAULT_POLL = '2s';
/**
 * Jobs of different runbooks run side by side, up to this many (the queue
 * never hands out two of one runbook at once): serve fires every runbook due
 * at a minute together, and 25 tiny backups one after another started the
 * last ~20 s late (bench/fleet.ts); four at a time still started them in
 * seven waves, seconds apart. So an agent starts every job it is sent at once
 * (a host with up to 32 runbooks due together): they share one main thread
 * and the libuv pool anyway, a backup whose files did not change starts no
 * repository worker, and a changed one starts one (the kept idle worker when
 * there is one, worker-pool.ts). Measured (bench/fleet-agent-loop.ts, 25
 * runbooks at once, tiny unchanged sources): agent CPU per job the same
 * (37 ms), peak RSS 267 MiB with all 25 at once against 183 MiB four at a
 * time. A host whose backups are large lowers it.
 */
export const DEFAULT_JOBS = 32;
const MAX_JOBS = 64;
/** pg-boss fetches no more often than this. */
const MIN_POLL_MS = 500;

export const agentHelp = {
  name: 'agent',
  summary: 'Run this host\'s jobs from the fleet queue (runbooks with host: NAME), heartbeating until stopped',
  description: [
    'Registers this host in the PostgreSQL store (store.url in lifeboat.yaml, or LIFEBOAT_STORE_URL; the JSON store has no fleet) and heartbeats every --heartbeat with its version, platform and running job. Takes the jobs queued for its host only — backup, restore-drill, check, forget, tier, resume of runbooks whose host: names it, asked from any console, Slack or serve\'s scheduler — up to --jobs at once (never two of one runbook), and runs each as the CLI would, recording the run with this host and the actor who asked. The runbook travels with the job and is validated again here; its secrets are resolved here (environment, files) and never travel.',
    'The host name is --host, else LIFEBOAT_HOST, else the machine\'s hostname. One agent per host name.',
    'SIGTERM or Ctrl-C stops taking jobs, lets the running ones finish for up to --shutdown-deadline, then cancels them (the run ends cancelled).',
  ].join('\n\n'),
  options: {
    host: { type: 'string', description: 'the host name to take jobs for (default LIFEBOAT_HOST, else the hostname)', valueName: 'NAME' },
    heartbeat: { type: 'string', description: `how often to tell the store this agent is alive (default ${DEFAULT_HEARTBEAT}, or LIFEBOAT_AGENT_HEARTBEAT)`, valueName: 'DURATION' },
    poll: { type: 'string', description: `how often to look at the queue without a wake-up (default ${DEFAULT_POLL}, at least 500ms, or LIFEBOAT_AGENT_POLL)`, valueName: 'DURATION' },
    jobs: { type: 'string', description: `how many jobs of different runbooks may run at once (default ${DEFAULT_JOBS}, 1 to ${MAX_JOBS}, or LIFEBOAT_AGENT_JOBS)`, valueName: 'N' },
    'shutdown-deadline': { type: 'string', description: 'how long the running job may finish after SIGTERM before it is cancelled (default 5m, or LIFEBOAT_SHUTDOWN_DEADLINE)', valueName: 'DURATION' },
  } satisfies Record<string, OptionSpec>,
};

export interface AgentArgs {
  /** Undefined: localHostName() (LIFEBOAT_HOST, else the hostname). */
  host?: string;
  heartbeatMs: number;
  pollMs: number;
  /** Jobs run at once at most (of different runbooks). */
  jobs: number;
  shutdownDeadlineMs: number;
}

/** Parse agent's argv (and the LIFEBOAT_ settings it falls back to); throws USAGE with what is wrong. */
export function parseAgentArgs(argv: string[], env: Readonly<Record<string, string | undefined>>): AgentArgs {
  let values: Record<string, string | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(agentHelp.options).map((name) => [name, { type: 'string' as const }]));
    values = parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<string, string | undefined>;
  } catch (e) {
    throw usage((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const duration = (option: string, variable: string, fallback: string): number => {
    const [name, text] = values[option] !== undefined ? [`--${option}`, values[option]] : env[variable] !== undefined ? [variable, env[variable]] : [`--${option}`, fallback];
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (e) {
      throw usage(`${name}: ${(e as Error).message}`);
    }
    if (ms <= 0 && option !== 'shutdown-deadline') throw usage(`${name} must be longer than 0, got "${text}"`);
    return ms;
  };
  const host = values.host;
  if (host !== undefined) {
    const problem = hostNameProblem(host);
    if (problem !== undefined) throw usage(`--host: ${problem}`);
  }
  const pollMs = duration('poll', 'LIFEBOAT_AGENT_POLL', DEFAULT_POLL);
  if (pollMs < MIN_POLL_MS) throw usage(`--poll must be at least 500ms (the queue's own limit), got ${pollMs}ms`);
  const [jobsName, jobsText] = values.jobs !== undefined ? ['--jobs', values.jobs] : env.LIFEBOAT_AGENT_JOBS !== undefined ? ['LIFEBOAT_AGENT_JOBS', env.LIFEBOAT_AGENT_JOBS] : ['--jobs', String(DEFAULT_JOBS)];
  const jobs = Number(jobsText);
  if (!/^\d+$/.test(jobsText.trim()) || jobs < 1 || jobs > MAX_JOBS) throw usage(`${jobsName} wants a whole number from 1 to ${MAX_JOBS}, got "${jobsText}"`);
  return {
    ...(host === undefined ? {} : { host }),
    jobs,
    heartbeatMs: duration('heartbeat', 'LIFEBOAT_AGENT_HEARTBEAT', DEFAULT_HEARTBEAT),
    pollMs,
    shutdownDeadlineMs: duration('shutdown-deadline', 'LIFEBOAT_SHUTDOWN_DEADLINE', '5m'),
  };
}

function usage(message: string): LifeboatError {
  return new LifeboatError('USAGE', `agent: ${message} (see lifeboat agent --help)`);
}
