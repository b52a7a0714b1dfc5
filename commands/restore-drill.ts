import { runDrill } from '../src/core/drill/restore-drill.js';
import { ExitCode } from '../src/core/errors.js';
import { formatBytes, formatDuration, formatRate } from '../src/core/format.js';
import { shortId } from '../src/core/repo/snapshot.js';
import { defineCommand } from './command.js';
import { bool, rawArgs } from './support/args.js';
import { evaluateAlertsAfterRun } from './support/alerts-after-run.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const restoreDrillCommand = defineCommand({
  name: 'restore-drill',
  summary: 'Timed real restore into scratch space, validated: measures the RTO',
  description:
    'Restores a snapshot (latest by default) into scratch space under the state folder, re-reads and hashes every restored file against the snapshot, pipes each stream source into its `restore` command, runs the runbook\'s `drill.check` there, and removes the scratch space. The RTO is the wall time from start to validated, with each phase\'s time and throughput. Verdict: met, missed (over objectives.rto) or failed (exit 1).',
  options: {
    keep: { type: 'boolean', description: 'keep the scratch folder for inspection (its path is printed)' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'snapshot', description: 'snapshot id or prefix (default: latest)' },
  ],
  schema: rawArgs.transform((r) => ({ runbook: r.positionals[0]!, snapshot: r.positionals[1] ?? 'latest', keep: bool(r.options.keep) })),
  access: 'drill',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { drill, problems, scratch } = await runDrill({ ...(await runContextFor(runbook, ctx)), snapshot: args.snapshot, keep: args.keep });
    await evaluateAlertsAfterRun(runbook, ctx);
    const lines = drill.phases.map(
      (p) => `  ${p.name.padEnd(9)} ${formatDuration(p.durationMs).padStart(8)}${p.bytes !== undefined ? `  ${formatBytes(p.bytes).padStart(10)}  ${formatRate(p.throughput)}` : ''}`,
    );
    lines.push(...problems.map((p) => `problem: ${p}`));
    if (args.keep) lines.push(`scratch kept at ${scratch}`);
    const rto = drill.rtoMs !== undefined ? formatDuration(drill.rtoMs) : '—';
    return {
      exitCode: drill.verdict === 'failed' ? (problems[0] === 'cancelled' ? ExitCode.cancelled : ExitCode.failed) : ExitCode.ok,
      summary: `drill ${drill.verdict}: ${runbook.name} snapshot ${drill.snapshotId ? shortId(drill.snapshotId) : '—'} ${drill.verdict === 'failed' ? 'failed validation' : `restored and validated in ${rto}`} (target ${formatDuration(drill.targetMs)})${drill.reason ? ` — ${drill.reason}` : ''}`,
      lines,
      data: drill,
    };
  },
});
