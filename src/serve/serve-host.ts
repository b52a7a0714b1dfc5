/**
 * `lifeboat serve` as a host, like the console: the CLI launches it with the
 * process's context and the command registry, and everything it runs —
 * scheduled jobs, Slack requests — goes through that registry's invoker. No
 * command imports serve, and serve imports no command's internals: the
 * registry is handed in (src/cli/main.ts), so the arrows point one way.
 *
 * Slack is optional and never fatal: the face connects in the background
 * and keeps reconnecting (src/slack/link.ts) while the scheduler, /metrics
 * and alert deliveries run; /healthz says `slack: connected` or
 * `disconnected` (with the reason) and stays 200. Alerts do not go through
 * the face: the Slack sink delivers them from the outbox, Bolt app or not.
 *
 * Secrets are kept in as for a command (keepingSecretsIn,
 * commands/support/known-secrets.ts): serve's own log lines and store writes
 * (alerts of the stale timer and the runbook catalog) go through the
 * redactor, and each job gets its own from the registry's invoker.
 */
import type { CommandContext, CommandResult } from '../../commands/command.js';
import { keepingSecretsIn } from '../../commands/support/known-secrets.js';
import { buildProcessSinks } from '../../commands/support/process-sinks.js';
import { closeFleetLinks, compactDuration, ExitCode, keepFleetLinksOpen, LifeboatError, type Runbook } from '../core/index.js';
import type { SlackLinkState } from '../slack/link.js';
import { serve, type CommandRegistry } from './daemon.js';
import { drillAnnouncer } from './drill-announcer.js';
import { exposedMetricsWarning, isLoopbackHost, parseServeArgs } from './serve-args.js';

export type { CommandRegistry } from './daemon.js';

const SLACK_VARIABLES = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET'] as const;

/**
 * Runs until `given.signal` aborts (SIGTERM, SIGINT), then lets running jobs
 * finish up to the shutdown deadline. Throws LifeboatError USAGE for bad
 * arguments, RUN_LOCKED when another serve holds the state folder.
 */
export async function runServeHost(argv: string[], registry: CommandRegistry, given: CommandContext): Promise<CommandResult> {
  const args = parseServeArgs(argv, given.env);
  const ctx = await keepingSecretsIn(given);
  const { secrets } = ctx;
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => ctx.emit({ type: 'log', level, message });
  let pinned: ((name: string) => Runbook | undefined) | undefined;
  const slack = SLACK_VARIABLES.some((v) => ctx.env[v]) ? await startSlack(args.slackPort, ctx, (name) => pinned?.(name)) : undefined;
  if (!slack) log('lifeboat serve: Slack not configured (no SLACK_ variables); scheduler and metrics only');
  let slackHealth: Record<string, unknown> = slack ? { slack: 'disconnected', slackReason: 'connecting' } : {};
  // Fires dispatched to agents share one queue and LISTEN connection, kept between minutes (shared-fleet-link.ts).
  keepFleetLinksOpen();
  try {
    const outcome = await serve({
      ctx,
      registry,
      ...(args.ops ? { ops: args.ops } : {}),
      graceMs: args.graceMs,
      jitterMs: args.jitterMs,
      shutdownDeadlineMs: args.shutdownDeadlineMs,
      staleCheckMs: 60_000,
      ...(args.agentWatch ? { agentWatch: args.agentWatch } : {}),
      ...(slack ? { drain: () => slack.face.idle() } : {}),
      healthDetails: () => slackHealth,
      // The outbox loop delivers with the sinks this process can build (rebuilt when the runbooks change).
      buildSinks: (runbooks) => buildProcessSinks(ctx, runbooks),
      announcer: drillAnnouncer({ clock: ctx.clock, log, ...(slack ? { slack: slack.face } : {}) }),
      started: async ({ catalog, ops }) => {
        pinned = (name) => catalog.get(name);
        // Said once the port is bound, so the line names the real one (--metrics-port 0 picks it).
        if (ops && args.ops && !isLoopbackHost(args.ops.host)) log(`lifeboat serve: ${exposedMetricsWarning(new URL(ops.url).host)}`, 'warn');
        if (slack) {
          let connectedBefore = false;
          slack.face.keepConnected((link, port) => {
            slackHealth = slackHealthOf(link);
            if (link.state === 'connected') {
              const where = slack.mode === 'socket' ? 'Socket Mode' : `http://127.0.0.1:${port}/slack/events`;
              log(connectedBefore ? `lifeboat serve: Slack connected again (${where})` : `lifeboat serve: Slack app running (${where})`);
              connectedBefore = true;
            } else if (link.state === 'disconnected') {
              const next = link.retryInMs > 0 ? `; retrying in ${compactDuration(link.retryInMs)}` : '';
              const fix = link.refused ? ' — fix the token; scheduler, metrics and other sinks go on' : ' — scheduler and metrics go on, alerts for Slack wait in the outbox';
              log(`lifeboat serve: Slack ${link.refused ? 'refused' : 'unreachable'}: ${link.reason}${next}${fix}`, link.refused ? 'error' : 'warn');
            }
          });
        }
      },
    });
    return secrets.redactDeep({ exitCode: ExitCode.ok, summary: `serve stopped: ${outcome.jobsRun} scheduled job(s) run, ${outcome.jobsCancelled} cancelled at shutdown` });
  } finally {
    await slack?.face.stop().catch(() => undefined);
    await closeFleetLinks().catch(() => undefined);
  }
}

/** What /healthz says of Slack: connected or not, and why not (one line, never a token). */
function slackHealthOf(link: SlackLinkState): Record<string, unknown> {
  if (link.state === 'connected') return { slack: 'connected' };
  return { slack: 'disconnected', slackReason: link.reason ?? 'connecting' };
}

/** The Slack face, loaded only when a SLACK_ variable asks for it (Bolt is large). */
async function startSlack(portOption: string | undefined, ctx: CommandContext, pinnedRunbook: (name: string) => Runbook | undefined) {
  const [{ createSlackApp }, { slackConfigFromEnv }, { SlackFaceError }] = await Promise.all([
    import('../slack/app.js'),
    import('../slack/config.js'),
    import('../slack/errors.js'),
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
  const face = createSlackApp({ ...config, home: ctx.home, runbooksDir: ctx.runbooksDir, cwd: ctx.cwd, env: ctx.env, store: ctx.store, clock: ctx.clock, pinnedRunbook, ...(ctx.config ? { config: ctx.config } : {}) });
  return { face, mode: config.connection.mode };
}
