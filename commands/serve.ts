import { ExitCode, LifeboatError } from '../src/core/errors.js';
import { parseDuration } from '../src/core/runbook/units.js';
import { defineCommand } from './command.js';
import { rawArgs, str } from './support/args.js';

/** Prometheus exporters each take a port of their own; this one is Lifeboat's default. */
export const DEFAULT_METRICS_PORT = 9817;

const SLACK_VARIABLES = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET'] as const;

/**
 * `lifeboat serve`: the scheduler (backups, verifications, drills, tiering on
 * each runbook's cron), staleness alerts every minute, /metrics and /healthz on
 * 127.0.0.1, and — when Slack is configured — the Slack app. Runs until
 * SIGTERM/SIGINT, then lets running jobs finish up to --shutdown-deadline.
 * The daemon and the Slack face are imported on demand so other commands never
 * load them.
 */
export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Run the scheduler, /metrics and /healthz, and the Slack app when configured, until stopped',
  description: [
    'Runs each runbook\'s schedule (backup, verify, drill, tier) in its time zone. A fire missed while serve was down runs once at start-up when it is within --grace; a fire that would overlap a running job of the same runbook is skipped and audited. Runbook files are re-read when they change or on SIGHUP; an edit that no longer validates keeps the last good version in service and raises an alert.',
    `Metrics (Prometheus) at http://127.0.0.1:${DEFAULT_METRICS_PORT}/metrics and health at /healthz by default (--metrics-port, LIFEBOAT_METRICS_PORT; "off" turns them off).`,
    'Slack: Socket Mode when SLACK_BOT_TOKEN and SLACK_APP_TOKEN are set; HTTP mode on 127.0.0.1 with SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and --port (or LIFEBOAT_SLACK_PORT). Without any SLACK_ variable serve runs without Slack.',
    'SIGTERM or Ctrl-C stops taking work, lets running jobs finish for up to --shutdown-deadline, then cancels them cleanly.',
  ].join('\n\n'),
  options: {
    port: { type: 'string', description: 'Slack HTTP mode: port on 127.0.0.1 for POST /slack/events (0 = any free port)', valueName: 'PORT' },
    'metrics-port': { type: 'string', description: `port for /metrics and /healthz (default ${DEFAULT_METRICS_PORT}, 0 = any free port, off = none)`, valueName: 'PORT' },
    'metrics-host': { type: 'string', description: 'address for /metrics and /healthz (default 127.0.0.1)', valueName: 'HOST' },
    grace: { type: 'string', description: 'run a fire missed while serve was down once at start-up if it is at most this old (default 1h)', valueName: 'DURATION' },
    jitter: { type: 'string', description: 'start each scheduled job up to this much after its time (default 0)', valueName: 'DURATION' },
    'shutdown-deadline': { type: 'string', description: 'how long running jobs may finish after SIGTERM before they are cancelled (default 5m)', valueName: 'DURATION' },
  },
  positionals: [],
  schema: rawArgs.transform((r, ctx) => {
    const duration = (name: string, fallback: string): number => {
      const text = str(r.options[name]) ?? fallback;
      try {
        return parseDuration(text);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `--${name}: ${(e as Error).message}` });
        return 0;
      }
    };
    return {
      slackPort: str(r.options.port),
      metricsPort: str(r.options['metrics-port']),
      metricsHost: str(r.options['metrics-host']) ?? '127.0.0.1',
      graceMs: duration('grace', '1h'),
      jitterMs: duration('jitter', '0s'),
      /** Undefined: LIFEBOAT_SHUTDOWN_DEADLINE or 5m, read in run() from the command's environment. */
      shutdownDeadlineMs: r.options['shutdown-deadline'] === undefined ? undefined : duration('shutdown-deadline', '5m'),
    };
  }),
  access: 'anyone',
  async run(args, ctx) {
    const ops = metricsAddress(args.metricsPort ?? ctx.env.LIFEBOAT_METRICS_PORT, args.metricsHost);
    const shutdownDeadlineMs = args.shutdownDeadlineMs ?? deadlineFromEnv(ctx.env.LIFEBOAT_SHUTDOWN_DEADLINE);
    const [{ serve }, { drillAnnouncer }] = await Promise.all([import('../src/serve/daemon.js'), import('../src/serve/drill-announcer.js')]);
    const log = (message: string) => ctx.emit({ type: 'log', level: 'info', message });
    const slackWanted = SLACK_VARIABLES.some((v) => ctx.env[v]);
    let slack: Awaited<ReturnType<typeof startSlack>> | undefined;
    let pinned: ((name: string) => import('../src/core/runbook/types.js').Runbook | undefined) | undefined;
    if (slackWanted) slack = await startSlack(args.slackPort, ctx, (name) => pinned?.(name));
    else log('lifeboat serve: Slack not configured (no SLACK_ variables); scheduler and metrics only');
    try {
      const outcome = await serve({
        ctx,
        ...(ops ? { ops } : {}),
        graceMs: args.graceMs,
        jitterMs: args.jitterMs,
        shutdownDeadlineMs,
        staleCheckMs: 60_000,
        notifiers: slack ? [slack.face.notifier] : [],
        ...(slack ? { drain: () => slack.face.idle() } : {}),
        announcer: drillAnnouncer({ clock: ctx.clock, log, ...(slack ? { slack: slack.face } : {}) }),
        started: async ({ catalog }) => {
          pinned = (name) => catalog.get(name);
          if (slack) {
            const { port } = await slack.face.start();
            log(`lifeboat serve: Slack app running (${slack.mode === 'socket' ? 'Socket Mode' : `http://127.0.0.1:${port}/slack/events`})`);
          }
        },
      });
      return { exitCode: ExitCode.ok, summary: `serve stopped: ${outcome.jobsRun} scheduled job(s) run, ${outcome.jobsCancelled} cancelled at shutdown` };
    } finally {
      await slack?.face.stop().catch(() => undefined);
    }
  },
});

function deadlineFromEnv(text: string | undefined): number {
  try {
    return parseDuration(text ?? '5m');
  } catch (e) {
    throw new LifeboatError('USAGE', `serve: LIFEBOAT_SHUTDOWN_DEADLINE: ${(e as Error).message}`);
  }
}

function metricsAddress(portText: string | undefined, host: string): { host: string; port: number } | undefined {
  if (portText === 'off') return undefined;
  if (portText === undefined) return { host, port: DEFAULT_METRICS_PORT };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) throw new LifeboatError('USAGE', `serve: --metrics-port must be a number 0-65535 or "off", got "${portText}"`);
  return { host, port };
}

async function startSlack(
  portOption: string | undefined,
  ctx: Parameters<typeof serveCommand.run>[1],
  pinnedRunbook: (name: string) => import('../src/core/runbook/types.js').Runbook | undefined,
) {
  const [{ createSlackApp }, { slackConfigFromEnv }, { SlackFaceError }] = await Promise.all([
    import('../src/slack/app.js'),
    import('../src/slack/config.js'),
    import('../src/slack/errors.js'),
  ]);
  let config;
  try {
    config = slackConfigFromEnv(ctx.env, portOption);
  } catch (e) {
    if (e instanceof SlackFaceError) throw new LifeboatError('USAGE', e.message);
    throw e;
  }
  // No stop signal here: runs started from Slack get the same shutdown deadline as scheduled
  // ones (serve waits for the face to go idle), and face.stop() cancels what is left.
  const face = createSlackApp({ ...config, home: ctx.home, runbooksDir: ctx.runbooksDir, cwd: ctx.cwd, env: ctx.env, store: ctx.store, clock: ctx.clock, pinnedRunbook });
  return { face, mode: config.connection.mode };
}
