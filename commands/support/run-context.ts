/** The engine's RunContext for a runbook, from a command's context. */
import type { Runbook, RunContext } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';

export async function runContextFor(runbook: Runbook, ctx: CommandContext): Promise<RunContext> {
  return { runbook, store: await ctx.store(), clock: ctx.clock, emit: ctx.emit, actor: ctx.actor, env: ctx.env, home: ctx.home, signal: ctx.signal, secrets: ctx.secrets, config: ctx.config };
}
