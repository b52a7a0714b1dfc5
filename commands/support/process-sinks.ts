/**
 * The sinks this process can build (it holds their secrets), in one place
 * for every face and host: lifeboat.yaml's `notify:` and the implicit Slack
 * sink of runbooks with `alerts.slack`. A sink whose secret this process lacks
 * is unavailable here, and its deliveries wait in the outbox for a process
 * that has it (serve, usually).
 *
 * Until lifeboat.yaml's sink builder (buildSinks, src/core/config/sinks.ts)
 * lands, no sink is built, so commands deliver nothing and serve's loop idles;
 * switching over is this one function.
 */
import type { Runbook, Sink } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';

export interface ProcessSinks {
  sinks: Map<string, Sink>;
  /** Configured sinks this process cannot build, and why (a missing secret): said, never fatal. */
  unavailable: { name: string; reason: string }[];
}

/** `ctx.secrets`: what the sinks redact as a last net before anything leaves (the Slack sink). */
export async function buildProcessSinks(ctx: Pick<CommandContext, 'config' | 'env' | 'secrets'>, runbooks: readonly Runbook[]): Promise<ProcessSinks> {
  void ctx;
  void runbooks;
  return { sinks: new Map(), unavailable: [] };
}
