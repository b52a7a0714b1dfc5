/**
 * The Slack face. `createSlackApp` builds a Bolt app (Socket Mode, or HTTP on
 * loopback with signed requests) and registers every listener in one place
 * (`registerListeners`). Handlers `ack()` first, then route to the shared
 * commands through `invokeCommand` with a Slack actor and a group resolver:
 * nothing here re-implements a command. Results and the engine's event stream
 * are rendered by the pure builders in ./blocks.
 *
 * This is the only file that imports @slack/bolt; the rest of the face talks to
 * the `SlackApi` port. Everything the face sends goes out through ./outbound.ts:
 * known secrets redacted, local paths cut. Read-only answers (`/backup list`,
 * `/backup status`) show names, descriptions and health only.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, type RespondFn, type types, type webApi } from '@slack/bolt';
import type { CommandContext, CommandResult } from '../../commands/command.js';
import { invokeCommand } from '../../commands/invoke.js';
import type { GroupResolver } from '../../commands/support/access.js';
import { ackCommand } from '../../commands/ack.js';
import { knownSecretsFor } from '../../commands/support/known-secrets.js';
import { runbookOfAlertKey } from '../core/alerts/rule.js';
import { systemClock, type Clock } from '../core/clock.js';
import { ExitCode } from '../core/errors.js';
import type { EngineEvent } from '../core/events.js';
import type { Redactor } from '../core/redaction/index.js';
import { listRunbooks, loadRunbook } from '../core/runbook/index.js';
import type { Runbook } from '../core/runbook/types.js';
import type { Store } from '../core/store/store.js';
import type { Actor } from '../core/store/records.js';
import { announceDrill, postDrillResult } from './announce.js';
import type { FaceLogger, PostedMessage, SlackApi } from './api.js';
import { ACK_ACTION_ID } from './blocks/alert.js';
import { problemMessage, type ProblemKind } from './blocks/errors.js';
import { helpMessage, SLASH_USAGE } from './blocks/help.js';
import { applyRunEvent, finishRunView, initialRunView, runMessage } from './blocks/progress.js';
import { commandResultMessage } from './blocks/result.js';
import { healthFromStatus, runbookListMessage, runbookStatusMessage } from './blocks/runbooks.js';
import { escape, type Message } from './blocks/types.js';
import { SlackFaceError } from './errors.js';
import { cachedGroupResolver } from './groups.js';
import { LiveMessage } from './live-message.js';
import { slackNotifier, type SlackNotifier } from './notifier.js';
import { publicApi, publicMessage, redactingLogger } from './outbound.js';
import { routeSlash, tokenize } from './slash.js';

export type SlackConnection =
  /** Signed requests to POST /slack/events on `host:port` (port 0 = any free port). */
  | { mode: 'http'; signingSecret: string; port: number; host?: string }
  /** Outbound WebSocket: no public URL needed. */
  | { mode: 'socket'; appToken: string };

export interface SlackAppOptions {
  botToken: string;
  connection: SlackConnection;
  /** Where commands find runbooks and state, as for every face. */
  home: string;
  runbooksDir: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The store, opened once for the app's lifetime. */
  store(): Promise<Store>;
  clock?: Clock;
  /** Cancels running backups and drills (serve's shutdown). */
  signal?: AbortSignal;
  /** Serve's last good runbooks: names resolve here before the runbooks folder. */
  pinnedRunbook?(name: string): Runbook | undefined;
  /** Web API base URL; tests point it at a local stand-in. Default https://slack.com/api/. */
  slackApiUrl?: string;
  /** Minimum time between chat.update calls of one live message (default 1000 ms). */
  updateIntervalMs?: number;
  /** How long user group membership is cached (default 5 min). */
  groupTtlMs?: number;
  /**
   * Web API retries (default 3, about 7 s: the SDK's default retries for 30
   * minutes, which keeps a stopped `serve` alive and a run message silent).
   */
  retries?: number;
  logLevel?: LogLevel;
}

export interface SlackFace {
  app: App;
  api: SlackApi;
  notifier: SlackNotifier;
  resolveGroup: GroupResolver;
  /** HTTP mode: the bound port. */
  start(): Promise<{ port?: number }>;
  stop(): Promise<void>;
  /** Resolves when every request handled so far has finished its work (tests). */
  idle(): Promise<void>;
  /** Announce a scheduled drill in the runbook's `alerts.slack` channel; returns the thread. */
  announceDrill(runbook: Runbook, startsAt: Date): Promise<PostedMessage>;
  /** Post a drill's result in an announcement's thread. */
  postDrillResult(thread: PostedMessage, result: CommandResult): Promise<PostedMessage>;
}

type Blocks = types.KnownBlock[];

const locationsOf = (o: Pick<SlackAppOptions, 'runbooksDir' | 'home' | 'cwd'>) => ({ runbooksDir: o.runbooksDir, home: o.home, cwd: o.cwd });

/** Adapts Bolt's WebClient to the face's port. */
export function webClientApi(client: webApi.WebClient): SlackApi {
  const ok = <T extends { ok?: boolean; error?: string }>(method: string, res: T): T => {
    if (!res.ok) throw new SlackFaceError('SLACK_API', `${method} failed: ${res.error ?? 'unknown error'}`);
    return res;
  };
  return {
    async postMessage(channel, message, options) {
      const res = ok(
        'chat.postMessage',
        await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks as Blocks, ...(options?.threadTs ? { thread_ts: options.threadTs } : {}) }),
      );
      if (!res.channel || !res.ts) throw new SlackFaceError('SLACK_API', 'chat.postMessage answered without channel and ts');
      return { channel: res.channel, ts: res.ts };
    },
    async update(channel, ts, message) {
      ok('chat.update', await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as Blocks }));
    },
    async postEphemeral(channel, user, message) {
      ok('chat.postEphemeral', await client.chat.postEphemeral({ channel, user, text: message.text, blocks: message.blocks as Blocks }));
    },
    async listUsergroups() {
      const res = ok('usergroups.list', await client.usergroups.list({}));
      return (res.usergroups ?? []).flatMap((g) => (g.id && g.handle ? [{ id: g.id, handle: g.handle }] : []));
    },
    async usergroupMembers(id) {
      const res = ok('usergroups.users.list', await client.usergroups.users.list({ usergroup: id }));
      return res.users ?? [];
    },
  };
}

interface Request {
  user: string;
  channel: string;
  /** Ephemeral/in-place replies through the request's response_url, when it has one. */
  respond?: RespondFn;
}

export function createSlackApp(options: SlackAppOptions): SlackFace {
  const clock = options.clock ?? systemClock;
  const logLevel = options.logLevel ?? LogLevel.INFO;
  const clientOptions = {
    ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    retryConfig: { retries: options.retries ?? 3 },
  };
  const conn = options.connection;
  let receiver: HTTPReceiver | undefined;
  let app: App;
  if (conn.mode === 'http') {
    receiver = new HTTPReceiver({ signingSecret: conn.signingSecret, logLevel });
    app = new App({ token: options.botToken, receiver, clientOptions, logLevel, deferInitialization: true });
  } else {
    app = new App({ token: options.botToken, appToken: conn.appToken, socketMode: true, clientOptions, logLevel, deferInitialization: true });
  }
  /** Known secrets, re-learned at start and with each request (runbooks come and go under serve). */
  let secrets: Redactor | undefined;
  const learnSecrets = async () => {
    secrets = await knownSecretsFor({ ...locationsOf(options), env: options.env, ...(options.pinnedRunbook ? { pinnedRunbook: options.pinnedRunbook } : {}) });
  };
  const logger: FaceLogger = redactingLogger(app.logger, () => secrets);
  const api = publicApi(webClientApi(app.client), () => secrets);
  const resolveGroup = cachedGroupResolver(api, { ...(options.groupTtlMs !== undefined ? { ttlMs: options.groupTtlMs } : {}) });
  const locations = locationsOf(options);
  const channelOf = async (runbook: string) => (await loadRunbook(runbook, locations).catch(() => undefined))?.alerts.slack;
  const notifier = slackNotifier({ api, channelOf, clock });
  const shutdown = new AbortController();
  options.signal?.addEventListener('abort', () => shutdown.abort(), { once: true });

  const work = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    work.add(p);
    void p.finally(() => work.delete(p)).catch(() => undefined);
    return p;
  };

  const context = (actor: Actor, emit: (e: EngineEvent) => void): CommandContext & { resolveGroup: GroupResolver } => ({
    actor,
    env: options.env,
    cwd: options.cwd,
    home: options.home,
    runbooksDir: options.runbooksDir,
    clock,
    emit,
    signal: shutdown.signal,
    store: options.store,
    resolveGroup,
    ...(options.pinnedRunbook ? { pinnedRunbook: options.pinnedRunbook } : {}),
  });

  /** Alerts raised by a run started here go to Slack as well as to the event stream. */
  const alertEvents = (e: EngineEvent) => {
    if (e.type === 'alert.raised') void track(notifier.raised(e.alert)).catch((err: unknown) => logger.warn(`lifeboat slack: alert ${e.alert.key} not posted: ${String(err)}`));
    if (e.type === 'alert.resolved') void track(notifier.resolved(e.alert)).catch((err: unknown) => logger.warn(`lifeboat slack: alert ${e.alert.key} not updated: ${String(err)}`));
  };

  const reply = async (req: Request, message: Message, visibility: 'ephemeral' | 'in_channel' = 'ephemeral') => {
    try {
      // `api` makes its messages public itself; a response_url answer is made public here.
      const shown = publicMessage(message, secrets);
      if (req.respond) await req.respond({ response_type: visibility, replace_original: false, text: shown.text, blocks: shown.blocks as Blocks });
      else if (visibility === 'ephemeral') await api.postEphemeral(req.channel, req.user, message);
      else await api.postMessage(req.channel, message);
    } catch (e) {
      logger.warn(`lifeboat slack: reply to ${req.user} in ${req.channel} failed: ${(e as Error).message}`);
    }
  };

  const problem = (kind: ProblemKind, request: string, message: string, hints: string[]) => problemMessage({ kind, request, message, hints });

  const usageHints = (slash: string) => [...SLASH_USAGE.filter((l) => l.startsWith(`\`${slash}`)), 'Try `/backup help`'];

  const runbookHints = async () => {
    const names = (await listRunbooks(locations).catch(() => [])).map((e) => e.name);
    return [names.length > 0 ? `Runbooks here: ${names.map(escape).join(', ')}` : 'There are no runbooks yet', 'Try `/backup list`'];
  };

  /** A request the face rejects itself is audited like the ones invokeCommand refuses. */
  const auditRejected = async (actor: Actor, command: string, args: string[], where: string, detail: string) => {
    try {
      const store = await options.store();
      const now = clock.now();
      const entry = { id: `${now.getTime().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, at: now.toISOString(), actor, command, args, where, result: 'usage' as const, detail };
      // What someone typed goes to state.json: redacted like everything else written there.
      await store.appendAudit(secrets ? secrets.redactDeep(entry) : entry);
    } catch (e) {
      logger.warn(`lifeboat slack: audit write failed: ${(e as Error).message}`);
    }
  };

  /**
   * Explain a result that did not run anything (refused, usage, unknown runbook, early failure).
   * `runbook` is the name the request gave, if any: an unknown one is named, the folder it was looked for in is not.
   */
  const explain = async (req: Request, request: string, slash: string, result: CommandResult, access: string, runbook?: string) => {
    const code = (result.data as { error?: { code?: string } } | undefined)?.error?.code;
    const message = result.summary ?? `exit ${result.exitCode}`;
    if (code === 'ACCESS_DENIED') {
      await reply(req, problem('refused', request, message, [`Ask someone listed in the runbook’s \`access.${access}\`, or have them add you (a Slack user id or a @group handle).`]));
    } else if (code === 'RUNBOOK_NOT_FOUND') {
      await reply(req, problem('unknown-runbook', request, runbook ? `No runbook named "${runbook}"` : 'No such runbook', await runbookHints()));
    } else if (code === 'RUNBOOK_INVALID') {
      // Each problem as `line:col: field: what`, without the server's file path.
      await reply(req, problem('failed', request, message.replace(/^[^\s:]+:(\d+):(\d+): /gm, 'line $1:$2: '), ['The runbook must be fixed on the server (`lifeboat runbooks validate`)']));
    } else if (result.exitCode === ExitCode.usage) {
      await reply(req, problem('usage', request, message, usageHints(slash)));
    } else {
      await reply(req, problem('failed', request, message, []));
    }
  };

  const handleSlash = async (slash: string, text: string, req: Request) => {
    await learnSecrets();
    const request = `${slash} ${text}`.trim();
    const actor: Actor = { face: 'slack', user: req.user };
    const route = routeSlash(slash, text);
    if (route.kind === 'help') return reply(req, helpMessage());
    if (route.kind === 'usage') {
      await auditRejected(actor, slash.slice(1), tokenize(text), req.channel, route.message);
      return reply(req, problem('usage', request, route.message, usageHints(slash)));
    }
    const { command, argv } = route;
    if (!route.live) {
      const result = await invokeCommand({ command, argv, where: req.channel }, context(actor, alertEvents));
      if (result.exitCode !== ExitCode.ok && !result.table) return explain(req, request, slash, result, command.access, argv[0]);
      if (route.view !== undefined) {
        const health = healthFromStatus(result).filter((h) => route.onlyRunbook === undefined || h.name === route.onlyRunbook);
        if (route.onlyRunbook !== undefined && health.length === 0) return reply(req, problem('unknown-runbook', request, `No runbook named "${route.onlyRunbook}"`, await runbookHints()));
        return reply(req, route.view === 'list' ? runbookListMessage(request, health) : runbookStatusMessage(request, health));
      }
      if (route.onlyRunbook !== undefined && result.table) {
        const rows = result.table.rows.filter((r) => r.runbook === route.onlyRunbook);
        if (rows.length === 0) return reply(req, problem('unknown-runbook', request, `no runbook named "${route.onlyRunbook}"`, await runbookHints()));
        return reply(req, commandResultMessage(request, { ...result, summary: route.onlyRunbook, table: { ...result.table, rows } }));
      }
      return reply(req, commandResultMessage(request, result));
    }
    // A run: one in-channel message, posted when the engine says the run started, updated in place.
    let view = initialRunView(request, req.user, argv[0] ?? '');
    const live = new LiveMessage({ api, channel: req.channel, logger, ...(options.updateIntervalMs !== undefined ? { minIntervalMs: options.updateIntervalMs } : {}) });
    const emit = (e: EngineEvent) => {
      alertEvents(e);
      const next = applyRunEvent(view, e);
      if (next === view) return;
      view = next;
      if (e.type === 'run.started' || live.started) live.show(runMessage(view));
    };
    const result = await invokeCommand({ command, argv, where: req.channel }, context(actor, emit));
    if (!live.started) return explain(req, request, slash, result, command.access, argv[0]);
    const delivered = await live.finish(runMessage(finishRunView(view, result)));
    if (!delivered) await reply(req, runMessage(finishRunView(view, result)));
  };

  const handleAck = async (key: string, where: PostedMessage | undefined, req: Request) => {
    await learnSecrets();
    const actor: Actor = { face: 'slack', user: req.user };
    const result = await invokeCommand({ command: ackCommand as never, argv: [key], where: req.channel }, context(actor, alertEvents));
    if (result.exitCode !== ExitCode.ok) return explain(req, `Acknowledge ${key}`, '/backup', result, 'backup', runbookOfAlertKey(key));
    const store = await options.store();
    const alert = await store.getAlert(key);
    const message = where ?? notifier.messageOf(key);
    if (alert && message) await notifier.refresh(alert, message);
  };

  /** A bug or a store outage still gets the person an answer, and the log the stack. */
  const guarded = (request: string, req: Request, work: Promise<void>) =>
    work.catch(async (e: unknown) => {
      logger.error(`lifeboat slack: ${request} by ${req.user} failed:`, e);
      await reply(req, problem('failed', request, (e as Error).message ?? String(e), []));
    });

  registerListeners(app, {
    slash: (slash, text, req) => track(guarded(`${slash} ${text}`.trim(), req, handleSlash(slash, text, req))),
    ack: (key, where, req) => track(guarded(`Acknowledge ${key}`, req, handleAck(key, where, req))),
    logger,
  });

  let server: Server | undefined;
  return {
    app,
    api,
    notifier,
    resolveGroup,
    async start() {
      // Deferred so a bad token or an unreachable Slack is one clear error here,
      // not an unhandled rejection from the constructor's eager auth.test.
      try {
        await learnSecrets();
        await app.init();
      } catch (e) {
        throw new SlackFaceError('SLACK_API', `cannot verify the bot token with Slack (auth.test): ${(e as Error).message}`, { retryable: true, cause: e });
      }
      if (conn.mode === 'http') {
        server = (await app.start({ port: conn.port, host: conn.host ?? '127.0.0.1' })) as Server;
        return { port: (server.address() as AddressInfo).port };
      }
      await app.start();
      return {};
    },
    async stop() {
      shutdown.abort();
      await Promise.allSettled([...work]);
      await app.stop();
    },
    async idle() {
      while (work.size > 0) await Promise.allSettled([...work]);
    },
    announceDrill: (runbook, startsAt) => announceDrill({ api, clock }, runbook, startsAt),
    postDrillResult: (thread, result) => postDrillResult({ api }, thread, result),
  };
}

interface Handlers {
  slash(slash: string, text: string, req: Request): Promise<void>;
  ack(key: string, where: PostedMessage | undefined, req: Request): Promise<void>;
  logger: FaceLogger;
}

/** Every listener, in one place. Each acknowledges Slack first (3 s limit), then works. */
function registerListeners(app: App, h: Handlers): void {
  for (const slash of ['/backup', '/restore-drill']) {
    app.command(slash, async ({ ack, command, respond }) => {
      await ack();
      await h.slash(slash, command.text ?? '', { user: command.user_id, channel: command.channel_id, respond });
    });
  }
  app.action(ACK_ACTION_ID, async ({ ack, body, action, respond }) => {
    await ack();
    if (body.type !== 'block_actions' || action.type !== 'button') return;
    const channel = body.channel?.id ?? body.container?.channel_id;
    const ts = body.message?.ts ?? body.container?.message_ts;
    if (!channel) return;
    await h.ack(action.value ?? '', ts ? { channel, ts } : undefined, { user: body.user.id, channel, respond });
  });
  app.error(async (error) => {
    h.logger.error(`lifeboat slack: ${error.code ?? ''} ${error.message}`);
  });
}
