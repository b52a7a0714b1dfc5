/**
 * `lifeboat serve` as a host, like the console: the CLI launches it with the
 * process's context and the command registry, and everything it runs —
 * scheduled jobs, Slack requests — goes through that registry's invoker. No
 * command imports serve, and serve imports no command's internals: the
 * registry is handed in (src/cli/main.ts), so the arrows point one way.
 *
 * Secrets are kept in as for a command (keepingSecretsIn,
 * commands/support/known-secrets.ts): serve's own log lines and store writes
 * (alerts of the stale timer and the runbook catalog) go through the
 * redactor, and each job gets its own from the registry's invoker.
 */
import type { CommandContext, CommandResult } from '../../commands/command.js';
import { keepingSecretsIn } from '../../commands/support/known-secrets.js';
import { ExitCode, LifeboatError, type Runbook } from '../core/index.js';
import { serve, type CommandRegistry } from './daemon.js';
import { drillAnnouncer } from './drill-announcer.js';
import { parseServeArgs } from './serve-args.js';

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
  const log = (message: string) => ctx.emit({ type: 'log', level: 'info', message });
  let pinned: ((name: string) => Runbook | undefined) | undefined;
  const slack = SLACK_VARIABLES.some((v) => ctx.env[v]) ? await startSlack(args.slackPort, ctx, (name) => pinned?.(name)) : undefined;
  if (!slack) log('lifeboat serve: Slack not configured (no SLACK_ variables); scheduler and metrics only');
  try {
    const outcome = await serve({
      ctx,
      registry,
      ...(args.ops ? { ops: args.ops } : {}),
      graceMs: args.graceMs,
      jitterMs: args.jitterMs,
      shutdownDeadlineMs: args.shutdownDeadlineMs,
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
    return secrets.redactDeep({ exitCode: ExitCode.ok, summary: `serve stopped: ${outcome.jobsRun} scheduled job(s) run, ${outcome.jobsCancelled} cancelled at shutdown` });
  } finally {
    await slack?.face.stop().catch(() => undefined);
  }
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
  const face = createSlackApp({ ...config, home: ctx.home, runbooksDir: ctx.runbooksDir, cwd: ctx.cwd, env: ctx.env, store: ctx.store, clock: ctx.clock, pinnedRunbook });
  return { face, mode: config.connection.mode };
}
