import { estimateStorage, ExitCode, formatBytes, formatDuration, formatTime, shortId, tier, type StorageEstimate } from '../src/core/index.js';
import { exitCodeOf } from './backup.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, runbookPositional } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const tierCommand = defineCommand({
  name: 'tier',
  summary: 'Move snapshots older than cold.after to the cold repository',
  description:
    'Copies the runbook\'s snapshots older than repository.cold.after into the cold repository (only the data cold lacks; data/ in the cold storage class), verifies the copy there, then forgets them in the hot repository and prunes. The newest snapshot of each source set always stays hot. Interrupted, it loses nothing: re-run it. Exit 4 when the cold destination is unreachable (the copy waits in staging; nothing was forgotten). --dry-run lists what would move. --estimate moves nothing: it prints what hot, cold and each copy cost to keep per month at list prices (hot and cold measured from their index, copies as their last copy run recorded), the total, and the cold tier\'s restore estimate as status shows it.',
  options: {
    'dry-run': { type: 'boolean', short: 'n', description: 'list the snapshots that would move; change nothing' },
    estimate: { type: 'boolean', description: 'storage cost per month of hot, cold and each copy at list prices, and the total; change nothing' },
  },
  positionals: [runbookPositional],
  schema: rawArgs
    .refine((r) => !(r.options.estimate === true && r.options['dry-run'] === true), { message: '--estimate and --dry-run are two different previews: give one of them' })
    .transform((r) => ({ runbook: r.positionals[0]!, dryRun: bool(r.options['dry-run']), estimate: bool(r.options.estimate) })),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    if (args.estimate) {
      const estimate = await estimateStorage(await runContextFor(runbook, ctx));
      return { exitCode: ExitCode.ok, summary: `${runbook.name} costs ${usd(estimate.totalUsdPerMonth)}/month to keep (${estimate.pricesAsOf})`, lines: estimateLines(estimate), data: estimate };
    }
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

const usd = (n: number): string => `$${n.toFixed(2)}`;

function estimateLines(e: StorageEstimate): string[] {
  const lines = e.locations.map((l) => {
    const size = l.storedBytes === undefined ? 'size unknown (no copy run has filled it yet)' : formatBytes(l.storedBytes);
    const cost = l.usdPerMonth === undefined ? '' : l.storageClass === undefined ? ': a folder, no list price' : `: ${usd(l.usdPerMonth)}/month (${l.storageClass})`;
    return `${l.kind === 'copy' ? `copy ${l.location}` : l.location} ${l.url}: ${size}${cost}`;
  });
  lines.push(`total ${usd(e.totalUsdPerMonth)}/month${e.unknown.length > 0 ? ` (without ${e.unknown.join(', ')}: size unknown)` : ''}`);
  const rto = e.cold?.rto;
  if (rto?.estimate) lines.push(`cold restore: est. ${formatDuration(rto.estimate.totalMs)} (${rto.estimate.throughputBasis} throughput), retrieval ${usd(rto.estimate.costUsd)}`);
  else if (rto) lines.push(`cold restore: ${formatDuration(rto.rtoMs ?? 0)} (${rto.basis})`);
  else if (e.cold?.reason) lines.push(`cold restore: ${e.cold.reason}`);
  return lines;
}
