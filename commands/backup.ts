import { backup, ExitCode, formatBytes, formatDuration, shortId } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { runbookOnly } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

/** The shared exit code of a run's final status. */
export function exitCodeOf(status: string): ExitCode {
  switch (status) {
    case 'succeeded':
      return ExitCode.ok;
    case 'partial':
      return ExitCode.partial;
    case 'transfer-pending':
      return ExitCode.transferPending;
    case 'cancelled':
      return ExitCode.cancelled;
    default:
      return ExitCode.failed;
  }
}

export const backupCommand = defineCommand({
  name: 'backup',
  summary: 'Back up a runbook now',
  description: 'Runs the runbook\'s backup: walks its sources, stores new data deduplicated, compressed and encrypted, and records the run. Exit 3 when some sources or files failed and the rest is safe.',
  ...runbookOnly,
  access: 'backup',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { run, snapshot, outcome } = await backup(await runContextFor(runbook, ctx));
    const s = snapshot?.stats;
    const lines: string[] = [];
    if (run.error && run.status !== 'succeeded') lines.push(`${run.status}: ${run.error.message}`);
    for (const f of run.failedSources ?? []) lines.push(`failed: ${f.error.message}`);
    for (const f of outcome?.fileErrors ?? []) lines.push(`unreadable: ${f.path}: ${f.message}`);
    for (const w of outcome?.warnings ?? []) lines.push(`warning: ${w.path}: ${w.message}`);
    const tier = run.stages.find((st) => st.name === 'tier' && st.status !== 'skipped');
    if (tier) {
      const c = tier.counters;
      lines.push(
        tier.status === 'succeeded'
          ? `tier: ${c.snapshotsForgotten ?? 0} snapshot(s) moved to cold (${c.blobsCopied ?? 0} blobs, ${formatBytes(c.bytesUploaded)} uploaded), ${c.packsPruned ?? 0} hot pack(s) pruned`
          : `tier ${tier.status}: ${tier.error?.message ?? 'see the run record'} (the backup itself is safe)`,
      );
    }
    return {
      exitCode: exitCodeOf(run.status),
      summary: `${run.status === 'succeeded' ? 'backed up' : run.status} ${runbook.name}: snapshot ${snapshot ? shortId(snapshot.id) : '—'}, ${s?.files ?? 0} files, ${formatBytes(s?.bytes)} read, ${formatBytes(s?.bytesNew)} new, ${formatBytes(s?.bytesStored)} stored in ${formatDuration(run.durationMs)}`,
      lines,
      data: { run, snapshot },
    };
  },
});
