import { ExitCode } from '../src/core/errors.js';
import { formatBytes } from '../src/core/format.js';
import { completePendingRuns } from '../src/core/pipeline/complete-pending.js';
import { RunLock } from '../src/core/pipeline/run-lock.js';
import { openRepositoryStack } from '../src/core/repo/open-repository.js';
import { defineCommand } from './command.js';
import { runbookOnly } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';

export const resumeCommand = defineCommand({
  name: 'resume',
  summary: 'Upload what a transfer-pending run left in staging',
  description:
    'When a backup ends transfer-pending (exit 4), its data is safe in the local staging folder. resume uploads it in order — packs, then indexes, then snapshots — and marks the run succeeded. The next backup of the runbook does the same first. Exit 4 again if the destination is still unreachable.',
  ...runbookOnly,
  access: 'backup',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const stack = await openRepositoryStack(runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
    if (!stack.staging) {
      return { exitCode: ExitCode.ok, summary: `${runbook.name} writes to a local repository directly: nothing is ever staged` };
    }
    // The staging folder is the run's: no backup of this runbook may add to it meanwhile.
    const lock = await RunLock.acquire(ctx.home, { runbook: runbook.name, startedAt: ctx.clock.now().toISOString(), by: `${ctx.actor.user} (${ctx.actor.face}) resume` });
    let left;
    try {
      left = await stack.staging.adoptLeftovers();
      await stack.staging.flush();
    } finally {
      await lock.release();
    }
    const completed = await completePendingRuns(await ctx.store(), runbook.name, ctx.clock);
    return {
      exitCode: ExitCode.ok,
      summary:
        left.objects === 0
          ? `nothing was staged for ${runbook.name}`
          : `uploaded ${left.objects} object(s), ${formatBytes(left.bytes)} to ${stack.backend.location}; ${completed.length} transfer-pending run(s) completed`,
      data: { objects: left.objects, bytes: left.bytes, runsCompleted: completed },
    };
  },
});
