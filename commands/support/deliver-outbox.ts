/**
 * What a command's process delivers at its end (the CLI after printing its
 * result, the console after each command): the outbox's due deliveries to the
 * sinks this process can build, within a small budget, quietly. What it does
 * not finish stays pending for serve or the next command; a failure costs
 * one warning line, never the command's exit code.
 */
import { deliverDue, outboxOwner, type DeliveryCounts } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';
import { allRunbooks } from './all-runbooks.js';
import { keepingSecretsIn } from './known-secrets.js';
import { buildProcessSinks } from './process-sinks.js';

/** Long enough for a few HTTP round trips, short enough that a cron job or a prompt never waits on a dead sink. */
export const END_OF_COMMAND_BUDGET_MS = 3_000;

export interface OutboxReport {
  counts: DeliveryCounts;
  /** One line per attempt that did not deliver (sink name and host, the error, when it is tried again). */
  problems: string[];
}

/**
 * undefined when this process has no sink to deliver with (nothing was read
 * or sent). Ctrl-C (ctx.signal) stops it at once, recording nothing: the
 * claims lapse and another process sends those deliveries.
 */
export async function deliverOutbox(given: CommandContext, budgetMs = END_OF_COMMAND_BUDGET_MS): Promise<OutboxReport | undefined> {
  // Errors a sink reports are written to the store and shown: through the redactor, like everything a command writes.
  const runbooks = await allRunbooks(given).catch(() => []);
  const ctx = await keepingSecretsIn(given, runbooks);
  const { sinks } = await buildProcessSinks(ctx, runbooks);
  if (sinks.size === 0) return undefined;
  const problems: string[] = [];
  const counts = await deliverDue({
    store: await ctx.store(),
    sinks,
    clock: ctx.clock,
    owner: outboxOwner(),
    budgetMs,
    signal: ctx.signal,
    onProblem: (p) => problems.push(ctx.secrets.redactDeep(`${p.delivery.transition} of ${p.delivery.alertKey}: ${p.message}`)),
  });
  return { counts, problems };
}

/** The one line a face shows when deliveries did not all go, or undefined. */
export function outboxWarning(report: OutboxReport | undefined): string | undefined {
  if (report === undefined) return undefined;
  const { failed, retrying } = report.counts;
  if (failed + retrying === 0) return undefined;
  const what = [retrying > 0 ? `${retrying} to retry` : '', failed > 0 ? `${failed} given up` : ''].filter(Boolean).join(', ');
  return `alert deliveries not sent (${what}): ${report.problems[0] ?? ''}${report.problems.length > 1 ? ` (and ${report.problems.length - 1} more)` : ''}; see \`lifeboat alerts --deliveries\``;
}
