/**
 * The Slack face's Bolt wiring. `createSlackApp` builds a Bolt app (Socket
 * Mode, or HTTP on loopback with signed requests), adapts Bolt's WebClient to
 * the face's `SlackApi` port, and registers every listener in one place
 * (`registerListeners`): each acknowledges Slack first (3 s limit), then hands
 * the request to the handlers in ./handlers.ts, which route it to the shared
 * commands.
 *
 * This is the only file that imports @slack/bolt; the rest of the face talks to
 * the `SlackApi` port. Everything the face sends goes out through ./outbound.ts:
 * known secrets redacted, local paths cut.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, type RespondFn, type types, type webApi } from '@slack/bolt';
import type { CommandResult } from '../../commands/command.js';
import type { GroupResolver } from '../../commands/support/access.js';
import { knownSecretsFor } from '../../commands/support/known-secrets.js';
import { ACK_ACTION_ID, systemClock, type Clock, type LifeboatConfig, type Redactor, type Runbook, type Store } from '../core/index.js';
import { announceDrill, postDrillResult } from './announce.js';
import type { FaceLogger, PostedMessage, SlackApi } from './api.js';
import { SlackFaceError } from './errors.js';
import { cachedGroupResolver } from './groups.js';
import { slackHandlers, type Respond, type SlackHandlers } from './handlers.js';
import { keepSlackLinked, SlackLinkError, type SlackLink, type SlackLinkState } from './link.js';
import { publicApi, redactingLogger } from './outbound.js';

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
  /** lifeboat.yaml (alert routes and repeat), passed to every command a request runs. */
  config?: LifeboatConfig;
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
  resolveGroup: GroupResolver;
  /** One attempt to connect (auth.test, then the receiver); throws when Slack cannot be reached. HTTP mode: the bound port. */
  start(): Promise<{ port?: number }>;
  /**
   * Connect and stay connected, never throwing (serve): failures are retried
   * with backoff and a dropped socket is reopened (./link.ts); every state
   * change goes to `onState`. `port` is HTTP mode's bound port once connected.
   */
  keepConnected(onState: (state: SlackLinkState, port?: number) => void): SlackLink;
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

export function createSlackApp(options: SlackAppOptions): SlackFace {
  const clock = options.clock ?? systemClock;
  const logLevel = options.logLevel ?? LogLevel.INFO;
  const clientOptions = {
    ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    retryConfig: { retries: options.retries ?? 3 },
  };
  const conn = options.connection;
  let receiver: HTTPReceiver | undefined;
  let socket: SocketModeReceiver | undefined;
  let app: App;
  if (conn.mode === 'http') {
    receiver = new HTTPReceiver({ signingSecret: conn.signingSecret, logLevel });
    app = new App({ token: options.botToken, receiver, clientOptions, logLevel, deferInitialization: true });
  } else {
    // Our own receiver, to turn off the Socket Mode client's reconnect: it retries apps.connections.open
    // behind our back and, when Slack is unreachable, rejects a promise nobody holds (an unhandled
    // rejection ends the process). ./link.ts reconnects instead, with backoff and a state /healthz shows.
    socket = new SocketModeReceiver({
      appToken: conn.appToken,
      logLevel,
      autoReconnectEnabled: false,
      // No Web API retries on apps.connections.open: the link's backoff is the retry.
      installerOptions: { clientOptions: { ...clientOptions, retryConfig: { retries: 0 } } },
    });
    app = new App({ token: options.botToken, receiver: socket, socketMode: true, clientOptions, logLevel, deferInitialization: true });
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
  const shutdown = new AbortController();
  options.signal?.addEventListener('abort', () => shutdown.abort(), { once: true });

  const work = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    work.add(p);
    void p.finally(() => work.delete(p)).catch(() => undefined);
    return p;
  };

  registerListeners(
    app,
    slackHandlers({
      api,
      logger,
      resolveGroup,
      clock,
      locations,
      env: options.env,
      store: options.store,
      ...(options.pinnedRunbook ? { pinnedRunbook: options.pinnedRunbook } : {}),
      ...(options.config ? { config: options.config } : {}),
      signal: shutdown.signal,
      secrets: () => secrets,
      learnSecrets,
      ...(options.updateIntervalMs !== undefined ? { updateIntervalMs: options.updateIntervalMs } : {}),
      track,
    }),
    logger,
  );

  let server: Server | undefined;
  let initialized = false;
  /** One attempt: the bot token checked (auth.test), then the receiver started (HTTP server, or the socket). */
  const connectOnce = async (): Promise<{ port?: number }> => {
    if (!initialized) {
      // Deferred so a bad token or an unreachable Slack is one clear error here,
      // not an unhandled rejection from the constructor's eager auth.test.
      try {
        await learnSecrets();
        await app.init();
        initialized = true;
      } catch (e) {
        throw linkError('cannot verify the bot token with Slack (auth.test)', 'SLACK_BOT_TOKEN', e);
      }
    }
    if (conn.mode === 'http') {
      if (!server) server = (await app.start({ port: conn.port, host: conn.host ?? '127.0.0.1' })) as Server;
      return { port: (server.address() as AddressInfo).port };
    }
    try {
      await app.start();
    } catch (e) {
      throw linkError('cannot open a Socket Mode connection (apps.connections.open)', 'SLACK_APP_TOKEN', e);
    }
    return {};
  };
  let link: SlackLink | undefined;
  return {
    app,
    api,
    resolveGroup,
    async start() {
      try {
        return await connectOnce();
      } catch (e) {
        throw new SlackFaceError('SLACK_API', (e as Error).message, { retryable: !(e instanceof SlackLinkError && e.refused), cause: e });
      }
    },
    keepConnected(onState) {
      let port: number | undefined;
      link = keepSlackLinked({
        connect: async () => {
          port = (await connectOnce()).port;
        },
        // A socket that never said hello, or one the link gave up on: closed before the next try.
        abandon: async () => {
          if (socket) await socket.client.disconnect();
        },
        dropped: () =>
          socket
            ? new Promise<string>((resolve) => socket!.client.once('disconnected', () => resolve('the socket closed')))
            : new Promise<string>(() => undefined),
        onState: (state) => onState(state, port),
      });
      return link;
    },
    async stop() {
      shutdown.abort();
      await link?.stop();
      await Promise.allSettled([...work]);
      if (server || socket) await app.stop().catch(() => undefined);
    },
    async idle() {
      while (work.size > 0) await Promise.allSettled([...work]);
    },
    announceDrill: (runbook, startsAt) => announceDrill({ api, clock }, runbook, startsAt),
    postDrillResult: (thread, result) => postDrillResult({ api }, thread, result),
  };
}

/** Slack codes that mean a token was refused: retrying soon cannot help, a person must fix the token. */
const REFUSED = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type']);

/** An attempt's failure, naming the call and, for a refused token, the variable that holds it (never its value). */
function linkError(what: string, variable: string, e: unknown): SlackLinkError {
  const code = (e as { data?: { error?: unknown } }).data?.error;
  if (typeof code === 'string' && REFUSED.has(code)) {
    return new SlackLinkError(`${what}: Slack refused ${variable}: ${code}`, { refused: true, cause: e });
  }
  return new SlackLinkError(`${what}: ${(e as Error).message ?? String(e)}`, { cause: e });
}

/** Bolt's `respond` as the handlers' {@link Respond}: the same answer, with Bolt's block type. */
const respondWith =
  (respond: RespondFn): Respond =>
  (answer) =>
    respond({ ...answer, blocks: answer.blocks as Blocks });

/** Every listener, in one place. Each acknowledges Slack first (3 s limit), then works. */
function registerListeners(app: App, h: SlackHandlers, logger: FaceLogger): void {
  for (const slash of ['/backup', '/restore-drill']) {
    app.command(slash, async ({ ack, command, respond }) => {
      await ack();
      await h.slash(slash, command.text ?? '', { user: command.user_id, channel: command.channel_id, respond: respondWith(respond) });
    });
  }
  app.action(ACK_ACTION_ID, async ({ ack, body, action, respond }) => {
    await ack();
    if (body.type !== 'block_actions' || action.type !== 'button') return;
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (!channel) return;
    await h.ack(action.value ?? '', { user: body.user.id, channel, respond: respondWith(respond) });
  });
  app.error(async (error) => {
    logger.error(`lifeboat slack: ${error.code ?? ''} ${error.message}`);
  });
}
