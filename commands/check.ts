import { ExitCode, LifeboatError } from '../src/core/errors.js';
import { formatBytes } from '../src/core/format.js';
import { checkRepository, type CheckOutcome } from '../src/core/repo/checker.js';
import { RunRecorder } from '../src/core/pipeline/run-recorder.js';
import { openRunbookRepository } from '../src/core/repo/open-repository.js';
import { withRepositoryLock } from '../src/core/repo/repo-lock.js';
import { parsePercentage } from '../src/core/runbook/units.js';
import { defineCommand } from './command.js';
import { rawArgs, runbookPositional, str } from './support/args.js';
import { evaluateAlertsAfterRun } from './support/alerts-after-run.js';
import { loadRunbookArg } from './support/runbook-arg.js';

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'Verify a runbook\'s repository (structure, and with --read-data the data itself)',
  description:
    'Checks that every key, index and snapshot file is named by the hash of its content and opens as what it is; that every snapshot\'s trees load with names a restore accepts and every blob they use is indexed; that no two snapshot files hold the same backup and none is older than its parent; and that every indexed pack exists with its size. --read-data reads all packs (or P% of them) and verifies every blob; damaged packs are named with the files that use them.',
  options: {
    'read-data': { type: 'string', description: 'read and verify packs: all, or a percentage (--read-data=10%)', valueName: 'P%' },
  },
  positionals: [runbookPositional],
  // `--read-data` alone means 100%; parseArgs has no optional values, so spell it out.
  rewriteArgv: (argv) => argv.map((a) => (a === '--read-data' ? '--read-data=100%' : a)),
  schema: rawArgs.transform((r, ctx) => {
    const p = str(r.options['read-data']);
    let readData = 0;
    if (p !== undefined) {
      try {
        readData = parsePercentage(p);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `--read-data: ${(e as Error).message}` });
      }
    }
    return { runbook: r.positionals[0]!, readData };
  }),
  access: 'anyone',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    // Every check is a verification on record: the verify-failed alert and `history` see it.
    const recorder = new RunRecorder(await ctx.store(), ctx.clock, ctx.emit, { runbook: runbook.name, kind: 'verify', actor: ctx.actor });
    await recorder.start();
    await recorder.startStage('verify');
    let out: CheckOutcome;
    let location: string;
    try {
      const repo = await openRunbookRepository(runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
      location = repo.backend.location;
      out = await withRepositoryLock(repo.backend, { exclusive: false, purpose: `check of ${runbook.name}` }, () =>
        checkRepository({ repo, readData: args.readData, signal: ctx.signal }),
      );
    } catch (e) {
      const cancelled = ctx.signal.aborted;
      await recorder.finishStage('verify', 'failed', {}, e);
      await recorder.finish(cancelled ? 'cancelled' : 'failed', e);
      if (!cancelled) await evaluateAlertsAfterRun(runbook, ctx);
      throw e;
    }
    const lines = [...out.errors];
    for (const d of out.damaged) {
      lines.push(...d.problems);
      if (d.affectedFiles.length > 0) lines.push(`  files affected by pack ${d.pack.slice(0, 8)}: ${d.affectedFiles.join(', ')}`);
    }
    if (out.unindexedPacks > 0) lines.push(`note: ${out.unindexedPacks} pack(s) are in no index (an interrupted backup, or a lost index file): the next backup indexes them, prune reads their headers, \`lifeboat repair-index\` rebuilds the index`);
    lines.push(...out.warnings.map((w) => `note: ${w}`));
    const bad = out.errors.length + out.damaged.length;
    const read = args.readData > 0 ? `, read ${out.packsRead} packs (${formatBytes(out.bytesRead)})` : '';
    const counters = { problems: bad, snapshots: out.snapshots, packs: out.packs, packsRead: out.packsRead, bytesRead: out.bytesRead };
    const problem = bad > 0 ? new LifeboatError('REPO_CORRUPT', lines.slice(0, 5).join('; ') || `${bad} problem(s)`) : undefined;
    await recorder.finishStage('verify', bad > 0 ? 'failed' : 'succeeded', counters, problem);
    await recorder.finish(bad > 0 ? 'failed' : 'succeeded', problem);
    lines.push(...(await evaluateAlertsAfterRun(runbook, ctx)));
    return {
      exitCode: bad > 0 ? ExitCode.failed : ExitCode.ok,
      summary: bad > 0
        ? `repository at ${location} has ${bad} problem(s)${read}`
        : `no errors: ${out.snapshots} snapshots, ${out.packs} packs, ${out.blobs} blobs, ${out.treesChecked} trees${read}`,
      lines,
      data: out,
    };
  },
});
