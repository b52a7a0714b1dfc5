/**
 * The one way any face runs a command: parse argv against the command's spec,
 * check its schema, authorize, run, audit. Errors become results with the
 * shared exit codes; nothing here prints.
 *
 * It is also where secrets are kept in for every face: the command's events
 * and store writes go through the redactor (src/core/redaction/), and so does
 * the result a face renders (CLI output, a Slack reply, the TUI).
 */
import { auditedRunbook, describeError, ExitCode, LifeboatError, newRecordId, type AuditRecord } from '../src/core/index.js';
import type { Command, CommandContext, CommandResult } from './command.js';
import { authorize } from './support/access.js';
import { parseArgv, usageLine } from './support/argv.js';
import { dispatchedResult } from './support/fleet-dispatch.js';
import { keepingSecretsIn } from './support/known-secrets.js';

export interface Invocation {
  command: Command<unknown>;
  argv: string[];
  /**
   * Arguments already typed, as the command's schema would give them (a
   * scheduled job's, src/serve/scheduled-jobs.ts): used as they are, so nothing
   * is written as text to be parsed back; `argv` then only names the request
   * in the audit log.
   */
  args?: unknown;
  /** Where the request came from, for the audit log (a channel, a tty). */
  where?: string;
}

/** Parse argv for a command (support/argv.ts), then its schema; throws LifeboatError USAGE with what is wrong. */
export function parseCommandArgs(command: Command<unknown>, argv: string[]): unknown {
  const raw = parseArgv(command, argv);
  const result = command.schema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new LifeboatError('USAGE', `${command.name}: ${first?.message ?? 'invalid arguments'} (usage: ${usageLine(command)})`);
  }
  return result.data;
}

export { usageLine };

const auditResult = (code: number): AuditRecord['result'] =>
  code === ExitCode.ok ? 'ok' : code === ExitCode.usage ? 'usage' : code === ExitCode.partial ? 'partial' : code === ExitCode.cancelled ? 'cancelled' : 'failed';

/** Turn a thrown error into a result a face can render. */
export function errorResult(e: unknown): CommandResult {
  const { code, message } = describeError(e);
  const exitCode = e instanceof LifeboatError ? e.exitCode : ExitCode.failed;
  return { exitCode, summary: message, data: { error: { code, message } } };
}

export async function invokeCommand(inv: Invocation, given: CommandContext): Promise<CommandResult> {
  const { command, argv } = inv;
  // Built afresh per command, so a new runbook's secrets count at once: from the face's loaded runbooks
  // (serve's catalog, reloaded as files change), else from the runbooks folder.
  const ctx = await keepingSecretsIn(given, given.knownRunbooks?.());
  const { secrets } = ctx;
  let result: CommandResult;
  let refused = false;
  /** What the audit entry is about (`lifeboat audit --runbook`), once the arguments parse. */
  let runbook: string | undefined;
  try {
    const args = inv.args !== undefined ? inv.args : parseCommandArgs(command, argv);
    runbook = auditedRunbook(command.runbookOf?.(args));
    const decision = await authorize(command, args, ctx);
    if (!decision.allowed) {
      refused = true;
      result = { exitCode: ExitCode.failed, summary: decision.reason, data: { error: { code: 'ACCESS_DENIED', message: decision.reason } } };
    } else {
      // A runbook of another host runs on its agent (issue 19); undefined: here, as always.
      result = (await dispatchedResult(command, args, ctx, { argv, where: inv.where })) ?? (await command.run(args, ctx));
    }
  } catch (e) {
    result = errorResult(e);
  }
  if (command.audited !== false) {
    try {
      const store = await ctx.store();
      await store.appendAudit({
        id: newRecordId(ctx.clock),
        at: ctx.clock.now().toISOString(),
        actor: ctx.actor,
        command: command.name,
        args: argv,
        runbook,
        where: inv.where,
        result: refused ? 'refused' : auditResult(result.exitCode),
        detail: result.exitCode === ExitCode.ok ? undefined : result.summary,
      });
    } catch {
      // An unreachable store must not hide the command's own result; the store error shows elsewhere.
    }
  }
  // A copy, never the maker's objects: a result may hold records a store keeps for other readers (ListCache).
  return secrets.redactDeep(result);
}
