import { describeThawOutcome, drill as runDrill, estimateDrill, ExitCode, formatBytes, formatDuration, formatRate, shortId, type DrillRecord } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const restoreDrillCommand = defineCommand({
  name: 'restore-drill',
  summary: 'Timed real restore into scratch space, validated: measures the RTO',
  description:
    'Restores a snapshot (latest by default) into scratch space under the state folder, re-reads and hashes every restored file against the snapshot, pipes each stream source into its `restore` command, runs the runbook\'s `drill.check` there, and removes the scratch space. The RTO is the wall time from start to validated, with each phase\'s time and throughput. Verdict: met, missed (over objectives.rto) or failed (exit 1). With --tier cold the drill restores from the cold repository and thaws archived packs first (a thaw phase of its own, inside the RTO), and is held to objectives.coldRto when the runbook sets one. --estimate (with --tier cold) thaws and restores nothing: it plans, forecasts thaw, transfer (from measured throughput), RTO and retrieval cost, and records an estimated drill. --copy NAME drills one of the runbook\'s repository.copies instead of hot, and records the RTO as that copy\'s (status shows it under the copy, apart from the hot RTO). --path P drills one path of the snapshot (a file or a folder, e.g. data/etc/app.yaml): a quick check that it is there and comes back intact; a path not in the snapshot fails the drill, naming it. Every restored file is hashed against the snapshot; stream restores and drill.check are not run (they test the whole restore). Its RTO is the path\'s and is recorded with the path: status, /metrics and the RTO alerts keep reading whole drills.',
  options: {
    keep: { type: 'boolean', description: 'keep the scratch folder for inspection (its path is printed)' },
    tier: { type: 'string', description: 'repository to drill: hot (default) or cold', valueName: 'TIER' },
    estimate: { type: 'boolean', description: 'with --tier cold: forecast the drill (thaw, transfer, RTO, cost) and record it as estimated, without doing it' },
    path: { type: 'string', description: 'drill only this path inside the snapshot, e.g. data/etc/app.yaml (its RTO is not the runbook\'s)', valueName: 'P' },
    copy: { type: 'string', description: 'drill this one of repository.copies instead of hot (its RTO is recorded as the copy\'s)', valueName: 'NAME' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'snapshot', description: 'snapshot id or prefix (default: latest)' },
  ],
  schema: rawArgs
    .refine((r) => r.options.tier === undefined || r.options.tier === 'hot' || r.options.tier === 'cold', { message: '--tier must be hot or cold' })
    .refine((r) => r.options.estimate !== true || r.options.tier === 'cold', { message: '--estimate needs --tier cold (a hot drill is cheap enough to measure)' })
    .refine((r) => r.options.estimate !== true || r.options.path === undefined, { message: '--estimate forecasts a whole drill; it does not take --path' })
    .refine((r) => r.options.copy === undefined || (r.options.tier === undefined && r.options.estimate !== true), { message: '--copy drills that copy as it is: it takes neither --tier nor --estimate' })
    .transform((r): { runbook: string; snapshot: string; keep: boolean; tier: 'hot' | 'cold'; estimate: boolean; path?: string; copy?: string } => ({
      runbook: r.positionals[0]!,
      snapshot: r.positionals[1] ?? 'latest',
      keep: bool(r.options.keep),
      tier: r.options.tier === 'cold' ? ('cold' as const) : ('hot' as const),
      estimate: bool(r.options.estimate),
      path: str(r.options.path),
      copy: str(r.options.copy),
    })),
  access: 'drill',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    if (args.estimate) {
      const { drill, forecast } = await estimateDrill({ ...(await runContextFor(runbook, ctx)), snapshot: args.snapshot });
      return {
        exitCode: ExitCode.ok,
        summary: `drill estimate (cold tier): ${runbook.name} snapshot ${shortId(drill.snapshotId)} would take ${formatDuration(drill.rtoMs)} (target ${formatDuration(drill.targetMs)}: ${drill.verdict === 'met' ? 'within' : 'over'}), retrieval cost $${forecast.costUsd.toFixed(2)}; nothing was thawed or restored`,
        lines: forecast.lines,
        data: drill,
      };
    }
    const { drill, problems, scratch, thaw, restore } = await runDrill({ ...(await runContextFor(runbook, ctx)), snapshot: args.snapshot, keep: args.keep, tier: args.tier, path: args.path, copy: args.copy });
    const lines = drill.phases.map(
      (p) => `  ${p.name.padEnd(9)} ${formatDuration(p.durationMs).padStart(8)}${p.bytes !== undefined ? `  ${formatBytes(p.bytes).padStart(10)}  ${formatRate(p.throughput)}` : ''}`,
    );
    if (thaw !== undefined) lines.unshift(describeThawOutcome(thaw));
    if (drill.path !== undefined) lines.push('drill.check and stream restores not run: a path drill hashes what it restored against the snapshot');
    lines.push(...problems.map((p) => `problem: ${p}`));
    if (args.keep) lines.push(`scratch kept at ${scratch}`);
    const rto = drill.rtoMs !== undefined ? formatDuration(drill.rtoMs) : '—';
    return {
      exitCode: drill.verdict === 'failed' ? (problems[0] === 'cancelled' ? ExitCode.cancelled : ExitCode.failed) : drill.verdict === 'blocked' ? ExitCode.failed : ExitCode.ok,
      summary: `drill ${drill.verdict}${drill.tier === 'cold' ? ' (cold tier)' : ''}${drill.copy === undefined ? '' : ` (copy ${drill.copy})`}: ${runbook.name}${pathWords(drill, restore)} snapshot ${drill.snapshotId ? shortId(drill.snapshotId) : '—'} ${outcomeWords(drill, rto)} (target ${formatDuration(drill.targetMs)})${drill.reason ? ` — ${drill.reason}` : ''}`,
      lines,
      data: drill,
    };
  },
});

/** ` path data/etc/app.yaml (1 file, 2.1 KiB)` for a path drill; nothing for a whole one. */
function pathWords(drill: DrillRecord, restore: { files: number; bytes: number } | undefined): string {
  if (drill.path === undefined) return '';
  const size = restore === undefined || drill.verdict === 'failed' ? '' : ` (${restore.files} file${restore.files === 1 ? '' : 's'}, ${formatBytes(restore.bytes)})`;
  return ` path ${drill.path}${size}`;
}

function outcomeWords(drill: DrillRecord, rto: string): string {
  if (drill.verdict === 'failed') return 'failed validation';
  if (drill.verdict === 'blocked') return 'not restored: the repository could not be reached';
  return `restored and validated in ${rto}`;
}
