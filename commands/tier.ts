import { ExitCode, formatBytes, formatTime, shortId, tier } from '../src/core/index.js';
import { exitCodeOf } from './backup.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, runbookPositional } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const tierCommand = defineCommand({
  name: 'tier',
  summary: 'Move snapshots older than cold.after to the cold repository',
  description:
    'Copies the runbook\'s snapshots older than repository.cold.after into the cold repository (only the data cold lacks; data/ in the cold storage class), verifies the copy there, then forgets them in the hot repository and prunes. The newest snapshot of each source set always stays hot. Interrupted, it loses nothing: re-run it. Exit 4 when the cold destination is unreachable (the copy waits in staging; nothing was forgotten). --dry-run lists what would move.',
  options: {
    'dry-run': { type: 'boolean', short: 'n', description: 'list the snapshots that would move; change nothing' },
  },
  positionals: [runbookPositional],
  schema: rawArgs.transform((r) => ({ runbook: r.positionals[0]!, dryRun: bool(r.options['dry-run']) })),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { run, outcome } = await tier({ ...(await runContextFor(runbook, ctx)), dryRun: args.dryRun });
    const lines = outcome.candidates.map(
      (c) => `${args.dryRun ? 'would move' : 'move'} ${shortId(c.id)}  ${formatTime(c.time)}${c.alreadyCold ? '  (already copied to cold; verify and forget)' : ''}`,
    );
    for (const id of outcome.keptAsNewest) lines.push(`keep hot ${shortId(id)}: the newest snapshot of its sources`);
    lines.push(...outcome.problems);
    if (run?.error && run.status !== 'succeeded') lines.push(`${run.status}: ${run.error.message}`);
    // `lifeboat resume` uploads the hot repository's staging; the cold copy is finished by tier itself.
    if (run?.status === 'transfer-pending') lines.push(`nothing was forgotten in hot; run \`lifeboat tier ${runbook.name}\` again when ${runbook.repository.cold!.url} is reachable`);
    const summary = args.dryRun
      ? `dry run: would move ${outcome.candidates.length} snapshot(s) of ${runbook.name} to ${runbook.repository.cold!.url}`
      : `${run!.status === 'succeeded' ? 'tiered' : run!.status} ${runbook.name}: ${outcome.snapshotsCopied} snapshot(s) copied (${outcome.snapshotsAlreadyCold} already cold), ${outcome.blobsCopied} blobs, ${formatBytes(outcome.bytesUploaded)} uploaded, ${outcome.snapshotsForgotten} forgotten in hot, ${outcome.packsPruned} hot pack(s) pruned`;
    return {
      exitCode: run ? exitCodeOf(run.status) : ExitCode.ok,
      summary,
      lines,
      data: { run, outcome: { ...outcome, pending: outcome.pending ? { code: outcome.pending.code, message: outcome.pending.message } : undefined } },
    };
  },
});
