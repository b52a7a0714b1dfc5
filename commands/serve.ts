import { ExitCode, LifeboatError } from '../src/core/errors.js';
import { defineCommand } from './command.js';
import { rawArgs, str } from './support/args.js';

/**
 * `lifeboat serve`: the Slack app (Socket Mode with SLACK_BOT_TOKEN and
 * SLACK_APP_TOKEN, else HTTP on 127.0.0.1 with SLACK_SIGNING_SECRET and a
 * port), running until interrupted. The scheduler and /metrics join it later.
 * The Slack face is imported on demand so other commands never load Bolt.
 */
export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Run the Slack app (/backup, /restore-drill, alerts) until interrupted',
  description:
    'Socket Mode when SLACK_BOT_TOKEN and SLACK_APP_TOKEN are set (no public URL needed); otherwise HTTP mode on 127.0.0.1 with SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and --port (or LIFEBOAT_SLACK_PORT), for a TLS proxy in front. Install the app from slack/manifest.yaml.',
  options: {
    port: { type: 'string', description: 'HTTP mode: port on 127.0.0.1 for POST /slack/events (0 = any free port)', valueName: 'PORT' },
  },
  positionals: [],
  schema: rawArgs.transform((r) => ({ port: str(r.options.port) })),
  access: 'anyone',
  async run(args, ctx) {
    const [{ createSlackApp }, { slackConfigFromEnv }, { SlackFaceError }] = await Promise.all([
      import('../src/slack/app.js'),
      import('../src/slack/config.js'),
      import('../src/slack/errors.js'),
    ]);
    let config;
    try {
      config = slackConfigFromEnv(ctx.env, args.port);
    } catch (e) {
      if (e instanceof SlackFaceError) throw new LifeboatError('USAGE', e.message);
      throw e;
    }
    const face = createSlackApp({ ...config, home: ctx.home, runbooksDir: ctx.runbooksDir, cwd: ctx.cwd, env: ctx.env, store: ctx.store, clock: ctx.clock, signal: ctx.signal });
    const { port } = await face.start();
    const where = config.connection.mode === 'socket' ? 'Socket Mode' : `http://127.0.0.1:${port}/slack/events`;
    ctx.emit({ type: 'log', level: 'info', message: `lifeboat serve: Slack app running (${where}); Ctrl-C to stop` });
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await face.stop();
    return { exitCode: ExitCode.ok, summary: `stopped serving Slack (${where})` };
  },
});
