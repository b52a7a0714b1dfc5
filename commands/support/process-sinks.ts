/**
 * The sinks this process can build (it holds their secrets), in one place
 * for every face and host: lifeboat.yaml's `notify:` and the implicit Slack
 * sink of runbooks with `alerts.slack` (buildSinks, src/core/config/sinks.ts).
 * A sink whose secret this process lacks is unavailable here, and its
 * deliveries wait in the outbox for a process that has it (serve, usually).
 */
import { buildSinks, defaultConfig, type BuiltSinks, type Runbook } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';

export type ProcessSinks = BuiltSinks;

/** `ctx.secrets`: what the sinks redact as a last net before anything leaves (the Slack sink). */
export function buildProcessSinks(ctx: Pick<CommandContext, 'config' | 'env' | 'secrets' | 'clock'>, runbooks: readonly Runbook[]): Promise<ProcessSinks> {
  return buildSinks(ctx.config ?? defaultConfig, runbooks, ctx.env, { clock: ctx.clock, ...(ctx.secrets ? { secrets: ctx.secrets } : {}) });
}
