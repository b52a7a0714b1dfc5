import { describeRetentionWaits, ExitCode, forget, formatBytes, renderRetentionPlan, type PruneOutcome } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, runbookPositional } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const forgetCommand = defineCommand({
  name: 'forget',
  summary: 'Apply the runbook\'s retention policy: forget old snapshots, then prune unused data',
  description:
    'Shows which snapshots the policy keeps (with every reason) and which it forgets, then removes the forgotten ones and prunes packs no snapshot uses (repacking mostly-empty ones). Holds an exclusive repository lock: backups into the same repository wait or are refused meanwhile. --dry-run only shows the plan.',
  options: {
    'dry-run': { type: 'boolean', short: 'n', description: 'show the plan and what prune would free; change nothing' },
    'no-prune': { type: 'boolean', description: 'forget snapshots but leave their data for a later prune' },
  },
  positionals: [runbookPositional],
  schema: rawArgs.transform((r) => ({ runbook: r.positionals[0]!, dryRun: bool(r.options['dry-run']), prune: !bool(r.options['no-prune']) })),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const out = await forget({ ...(await runContextFor(runbook, ctx)), dryRun: args.dryRun, prune: args.prune });
    const pruneLine = out.prune ? describePrune(out.prune, args.dryRun) : 'prune: not run';
    return {
      exitCode: ExitCode.ok,
      summary: args.dryRun
        ? `dry run: would keep ${out.plan.keep.length} and forget ${out.plan.forget.length} snapshot(s) of ${runbook.name}`
        : `kept ${out.plan.keep.length}, forgot ${out.forgotten} snapshot(s) of ${runbook.name}`,
      lines: [...renderRetentionPlan(out.plan).split('\n').filter((l) => l !== ''), pruneLine],
      data: out,
    };
  },
});

/** One line, the same words for a dry run and the real one (only the verb differs), so the two can be compared. */
export function describePrune(p: PruneOutcome, dryRun: boolean): string {
  const parts = [
    `delete ${p.packsDeleted} pack(s)`,
    `repack ${p.packsRepacked}`,
    `remove ${p.orphansDeleted} unindexed`,
    ...(p.orphansAdopted > 0 ? [`re-index ${p.orphansAdopted} unindexed pack(s) still in use`] : []),
    ...(p.orphansYoung > 0 ? [`leave ${p.orphansYoung} unindexed pack(s) younger than the grace period`] : []),
    ...(p.packsMissing > 0 ? [`drop ${p.packsMissing} missing pack(s) from the index`] : []),
    `free ${formatBytes(p.bytesFreed)} of ${formatBytes(p.bytesBefore)}`,
  ];
  const waits = p.retentionWaits === undefined ? '' : `; ${describeRetentionWaits(p.retentionWaits)}`;
  return `${dryRun ? 'prune would' : 'prune did'}: ${parts.join(', ')}${waits}`;
}
