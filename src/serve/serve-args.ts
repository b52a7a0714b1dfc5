/**
 * `lifeboat serve`'s arguments: what help shows, and the typed options the
 * host runs with. Kept apart from serve-host.ts so `lifeboat --help` and
 * `lifeboat serve --help` load neither the daemon nor Slack.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { OptionSpec } from '../../commands/command.js';
import { LifeboatError, parseDuration } from '../core/index.js';

/** Prometheus exporters each take a port of their own; this one is Lifeboat's default. */
export const DEFAULT_METRICS_PORT = 9817;

/** What help says about serve (the CLI lists it among the hosts it launches). */
export const serveHelp = {
  name: 'serve',
  summary: 'Run the scheduler, /metrics and /healthz, and the Slack app when configured, until stopped',
  description: [
    'Runs each runbook\'s schedule (backup, verify, drill, tier) in its time zone. A fire missed while serve was down runs once at start-up when it is within --grace; a fire that would overlap a running job of the same runbook is skipped and audited. Runbook files are re-read when they change or on SIGHUP; an edit that no longer validates keeps the last good version in service and raises an alert.',
    `Metrics (Prometheus) at http://127.0.0.1:${DEFAULT_METRICS_PORT}/metrics and health at /healthz by default (--metrics-port, LIFEBOAT_METRICS_PORT; "off" turns them off). They name every runbook and host: another address (--metrics-host, LIFEBOAT_METRICS_HOST) is warned about at start, and belongs behind a firewall or a reverse proxy.`,
    'Slack: Socket Mode when SLACK_BOT_TOKEN and SLACK_APP_TOKEN are set; HTTP mode on 127.0.0.1 with SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and --port (or LIFEBOAT_SLACK_PORT). Without any SLACK_ variable serve runs without Slack.',
    'SIGTERM or Ctrl-C stops taking work, lets running jobs finish for up to --shutdown-deadline, then cancels them cleanly.',
  ].join('\n\n'),
  options: {
    port: { type: 'string', description: 'Slack HTTP mode: port on 127.0.0.1 for POST /slack/events (0 = any free port)', valueName: 'PORT' },
    'metrics-port': { type: 'string', description: `port for /metrics and /healthz (default ${DEFAULT_METRICS_PORT}, 0 = any free port, off = none)`, valueName: 'PORT' },
    'metrics-host': { type: 'string', description: 'address for /metrics and /healthz (default 127.0.0.1; a non-loopback one is warned about)', valueName: 'HOST' },
    grace: { type: 'string', description: 'run a fire missed while serve was down once at start-up if it is at most this old (default 1h)', valueName: 'DURATION' },
    jitter: { type: 'string', description: 'start each scheduled job up to this much after its time (default 0)', valueName: 'DURATION' },
    'shutdown-deadline': { type: 'string', description: 'how long running jobs may finish after SIGTERM before they are cancelled (default 5m)', valueName: 'DURATION' },
  } satisfies Record<string, OptionSpec>,
};

export interface ServeArgs {
  /** Slack HTTP mode's port, as given (the Slack config reads it with LIFEBOAT_SLACK_PORT). */
  slackPort?: string;
  /** Where /metrics and /healthz listen; undefined = not at all. */
  ops?: { host: string; port: number };
  graceMs: number;
  jitterMs: number;
  shutdownDeadlineMs: number;
  /** The leader's watch on the fleet's agents, when LIFEBOAT_AGENT_* set any of it (else serve's defaults: 60 s, 15 s, 5 min). */
  agentWatch?: { lostAfterMs?: number; intervalMs?: number; noAgentGraceMs?: number };
}

/** Parse serve's argv (and the LIFEBOAT_ settings it falls back to); throws USAGE with what is wrong. */
export function parseServeArgs(argv: string[], env: Readonly<Record<string, string | undefined>>): ServeArgs {
  let values: Record<string, string | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(serveHelp.options).map((name) => [name, { type: 'string' as const }]));
    values = parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<string, string | undefined>;
  } catch (e) {
    throw usage((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const duration = (name: string, text: string): number => {
    try {
      return parseDuration(text);
    } catch (e) {
      throw usage(`${name}: ${(e as Error).message}`);
    }
  };
  return {
    ...(values.port === undefined ? {} : { slackPort: values.port }),
    ops: metricsAddress(values['metrics-port'] ?? env.LIFEBOAT_METRICS_PORT, metricsHost(values['metrics-host'], env.LIFEBOAT_METRICS_HOST)),
    graceMs: duration('--grace', values.grace ?? '1h'),
    jitterMs: duration('--jitter', values.jitter ?? '0s'),
    shutdownDeadlineMs:
      values['shutdown-deadline'] === undefined
        ? duration('LIFEBOAT_SHUTDOWN_DEADLINE', env.LIFEBOAT_SHUTDOWN_DEADLINE ?? '5m')
        : duration('--shutdown-deadline', values['shutdown-deadline']),
    ...agentWatchOf(env, duration),
  };
}

/** LIFEBOAT_AGENT_LOST_AFTER, LIFEBOAT_AGENT_CHECK_INTERVAL, LIFEBOAT_NO_AGENT_GRACE: positive durations; only those set. */
function agentWatchOf(env: Readonly<Record<string, string | undefined>>, duration: (name: string, text: string) => number): Pick<ServeArgs, 'agentWatch'> {
  const positive = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const ms = duration(name, text);
    if (ms <= 0) throw usage(`${name}: must be more than zero, got "${text}" (e.g. 60s)`);
    return ms;
  };
  const watch = {
    lostAfterMs: positive('LIFEBOAT_AGENT_LOST_AFTER'),
    intervalMs: positive('LIFEBOAT_AGENT_CHECK_INTERVAL'),
    noAgentGraceMs: positive('LIFEBOAT_NO_AGENT_GRACE'),
  };
  const set = Object.fromEntries(Object.entries(watch).filter(([, v]) => v !== undefined));
  return Object.keys(set).length === 0 ? {} : { agentWatch: set };
}

function metricsAddress(portText: string | undefined, host: string): ServeArgs['ops'] {
  if (portText === 'off') return undefined;
  if (portText === undefined) return { host, port: DEFAULT_METRICS_PORT };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) throw usage(`--metrics-port must be a number 0-65535 or "off", got "${portText}"`);
  return { host, port };
}

function metricsHost(option: string | undefined, variable: string | undefined): string {
  const [name, host] = option !== undefined ? ['--metrics-host', option] : variable !== undefined ? ['LIFEBOAT_METRICS_HOST', variable] : ['', '127.0.0.1'];
  // An empty or spaced value would make Node listen on every address: the opposite of what a typo meant.
  if (host.trim() === '' || /\s/.test(host)) throw usage(`${name} must be an address or host name, got "${host}"`);
  return host;
}

/**
 * Whether listening on `host` keeps /metrics and /healthz on this machine:
 * 127.0.0.0/8, ::1 (also IPv4-mapped), or `localhost`. Anything else,
 * 0.0.0.0 and :: above all, opens them to whoever can reach the port.
 */
export function isLoopbackHost(host: string): boolean {
  const address = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (address === 'localhost' || address.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  const v4 = mapped ?? address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  // ::1 however it is written (0:0:0:0:0:0:0:1, ::0:1).
  return isIP(address) === 6 && /^0*(:0*)*:0*1$/.test(address);
}

/** The start-up warning for /metrics and /healthz on a non-loopback address (`where`: host:port as bound). */
export function exposedMetricsWarning(where: string): string {
  return `metrics and health exposed on ${where}: they name every runbook and host; put them behind a firewall or reverse proxy`;
}

function usage(message: string): LifeboatError {
  return new LifeboatError('USAGE', `serve: ${message} (see lifeboat serve --help)`);
}
