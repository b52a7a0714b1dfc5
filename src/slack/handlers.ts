/**
 * What the Slack face does with a request, once Bolt has acknowledged it
 * (./app.ts does the wiring): a slash command or an acknowledge button is
 * routed to the shared commands through `invokeCommand` with a Slack actor
 * and a group resolver — nothing here re-implements a command — and the
 * result or the run's events are rendered by the pure builders in ./blocks.
 *
 * No Bolt here: handlers talk to the `SlackApi` port and answer through a
 * {@link Respond} function, so they are the same for Socket Mode and HTTP.
 * Read-only answers (`/backup list`, `/backup status`) show names,
 * descriptions and health only.
 */
import type { CommandContext, CommandResult } from '../../commands/command.js';
import { invokeCommand } from '../../commands/invoke.js';
import type { GroupResolver } from '../../commands/support/access.js';
import { ackCommand } from '../../commands/ack.js';
import { ExitCode, listRunbooks, newRecordId, runbookOfAlertKey, type Actor, type Clock, type EngineEvent, type LifeboatConfig, type Redactor, type Runbook, type Store } from '../core/index.js';
import type { FaceLogger, SlackApi } from './api.js';
import { problemMessage, type ProblemKind } from './blocks/errors.js';
import { helpMessage, SLASH_USAGE } from './blocks/help.js';
import { applyRunEvent, finishRunView, initialRunView, runMessage } from './blocks/progress.js';
import { commandResultMessage } from './blocks/result.js';
import { healthFromStatus, runbookListMessage, runbookStatusMessage, type RunbookHealth } from './blocks/runbooks.js';
import { escape, type Message } from './blocks/types.js';
import { LiveMessage } from './live-message.js';
import { publicMessage } from './outbound.js';
import { routeSlash, tokenize } from './slash.js';

/** An answer through the request's response_url (Bolt's `respond`, adapted by ./app.ts). */
export type Respond = (answer: { response_type: 'ephemeral' | 'in_channel'; replace_original: false; text: string; blocks: Message['blocks'] }) => Promise<unknown>;

export interface SlackRequest {
  user: string;
  channel: string;
  /** Ephemeral/in-place replies through the request's response_url, when it has one. */
  respond?: Respond;
}

export interface SlackHandlers {
  slash(slash: string, text: string, req: SlackRequest): Promise<void>;
  ack(key: string, req: SlackRequest): Promise<void>;
}

export interface HandlerDeps {
  /** Every outgoing message made public (./outbound.ts). */
  api: SlackApi;
  logger: FaceLogger;
  resolveGroup: GroupResolver;
  clock: Clock;
  /** Where commands find runbooks and state, as for every face. */
  locations: { home: string; runbooksDir: string; cwd: string };
  env: Readonly<Record<string, string | undefined>>;
  store(): Promise<Store>;
  pinnedRunbook?(name: string): Runbook | undefined;
  /** lifeboat.yaml: every command a request runs gets it (alert routes, repeat). */
  config?: LifeboatConfig;
  /** Cancels running backups and drills (the face's stop). */
  signal: AbortSignal;
  /** The known secrets as last learned, and a way to learn them again (runbooks come and go under serve). */
  secrets(): Redactor | undefined;
  learnSecrets(): Promise<void>;
  /** Minimum time between chat.update calls of one live message. */
  updateIntervalMs?: number;
  /** Work the face waits for when it stops or goes idle. */
  track<T>(work: Promise<T>): Promise<T>;
}

/** The handlers of every request kind; each one's work is tracked, and a bug or a store outage still gets the person an answer. */
export function slackHandlers(deps: HandlerDeps): SlackHandlers {
  const { api, logger, clock, locations } = deps;

  const context = (actor: Actor, emit: (e: EngineEvent) => void): CommandContext & { resolveGroup: GroupResolver } => ({
    actor,
    env: deps.env,
    ...locations,
    clock,
    emit,
    signal: deps.signal,
    store: deps.store,
    resolveGroup: deps.resolveGroup,
    ...(deps.pinnedRunbook ? { pinnedRunbook: deps.pinnedRunbook } : {}),
    ...(deps.config ? { config: deps.config } : {}),
  });

  // Alerts a run started here raises reach Slack through the outbox (src/core/notify/outbox.ts), like
  // every alert: the face posts none itself, so an alert is never posted twice or lost with this process.
  const ignore = () => undefined;

  const reply = async (req: SlackRequest, message: Message, visibility: 'ephemeral' | 'in_channel' = 'ephemeral') => {
    try {
      // `api` makes its messages public itself; a response_url answer is made public here.
      const shown = publicMessage(message, deps.secrets());
      if (req.respond) await req.respond({ response_type: visibility, replace_original: false, text: shown.text, blocks: shown.blocks });
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

  /** Each runbook's fleet host (`host:`), for /backup status to group by: serve's pinned runbook, else the file. */
  const withHosts = async (health: RunbookHealth[]): Promise<RunbookHealth[]> => {
    const files = new Map((await listRunbooks(locations).catch(() => [])).map((e) => [e.name, e.runbook?.host]));
    return health.map((h) => {
      const host = deps.pinnedRunbook?.(h.name)?.host ?? files.get(h.name);
      return host === undefined ? h : { ...h, host };
    });
  };

  /** A request the face rejects itself is audited like the ones invokeCommand refuses. */
  const auditRejected = async (actor: Actor, command: string, args: string[], where: string, detail: string) => {
    try {
      const store = await deps.store();
      const now = clock.now();
      const entry = { id: newRecordId(clock), at: now.toISOString(), actor, command, args, where, result: 'usage' as const, detail };
      // What someone typed goes to state.json: redacted like everything else written there.
      const secrets = deps.secrets();
      await store.appendAudit(secrets ? secrets.redactDeep(entry) : entry);
    } catch (e) {
      logger.warn(`lifeboat slack: audit write failed: ${(e as Error).message}`);
    }
  };

  /**
   * Explain a result that did not run anything (refused, usage, unknown runbook, early failure).
   * `runbook` is the name the request gave, if any: an unknown one is named, the folder it was looked for in is not.
   */
  const explain = async (req: SlackRequest, request: string, slash: string, result: CommandResult, access: string, runbook?: string) => {
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

  const handleSlash = async (slash: string, text: string, req: SlackRequest) => {
    await deps.learnSecrets();
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
      const result = await invokeCommand({ command, argv, where: req.channel }, context(actor, ignore));
      if (result.exitCode !== ExitCode.ok && !result.table) return explain(req, request, slash, result, command.access, argv[0]);
      if (route.view !== undefined) {
        const health = healthFromStatus(result).filter((h) => route.onlyRunbook === undefined || h.name === route.onlyRunbook);
        if (route.onlyRunbook !== undefined && health.length === 0) return reply(req, problem('unknown-runbook', request, `No runbook named "${route.onlyRunbook}"`, await runbookHints()));
        return reply(req, route.view === 'list' ? runbookListMessage(request, health) : runbookStatusMessage(request, await withHosts(health)));
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
    const live = new LiveMessage({ api, channel: req.channel, logger, ...(deps.updateIntervalMs !== undefined ? { minIntervalMs: deps.updateIntervalMs } : {}) });
    const emit = (e: EngineEvent) => {
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

  /**
   * The Acknowledge button runs the ack command, as `lifeboat ack` does. The message is redrawn by the
   * outbox: the ack writes the acknowledged transition's deliveries, and the Slack sink updates the
   * alert's message in place (its receipt says which), wherever it was posted from.
   */
  const handleAck = async (key: string, req: SlackRequest) => {
    await deps.learnSecrets();
    const actor: Actor = { face: 'slack', user: req.user };
    const result = await invokeCommand({ command: ackCommand as never, argv: [key], where: req.channel }, context(actor, ignore));
    if (result.exitCode !== ExitCode.ok) return explain(req, `Acknowledge ${key}`, '/backup', result, 'backup', runbookOfAlertKey(key));
  };

  /** A bug or a store outage still gets the person an answer, and the log the stack. */
  const guarded = (request: string, req: SlackRequest, work: Promise<void>) =>
    work.catch(async (e: unknown) => {
      logger.error(`lifeboat slack: ${request} by ${req.user} failed:`, e);
      await reply(req, problem('failed', request, (e as Error).message ?? String(e), []));
    });

  return {
    slash: (slash, text, req) => deps.track(guarded(`${slash} ${text}`.trim(), req, handleSlash(slash, text, req))),
    ack: (key, req) => deps.track(guarded(`Acknowledge ${key}`, req, handleAck(key, req))),
  };
}
