import { ExitCode, formatBytes, resume } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { runbookOnly } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const resumeCommand = defineCommand({
  name: 'resume',
  summary: 'Upload what a transfer-pending run left in staging',
  description:
    'When a backup ends transfer-pending (exit 4), its data is safe in the local staging folder. resume uploads it in order — packs, then indexes, then snapshots — and marks the run succeeded. The next backup of the runbook does the same first. Exit 4 again if the destination is still unreachable.',
  ...runbookOnly,
  access: 'backup',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const out = await resume(await runContextFor(runbook, ctx));
    if (!out.staged) {
      return { exitCode: ExitCode.ok, summary: `${runbook.name} writes to a local repository directly: nothing is ever staged` };
    }
    return {
      exitCode: ExitCode.ok,
      summary:
        out.objects === 0
          ? `nothing was staged for ${runbook.name}`
          : `uploaded ${out.objects} object(s), ${formatBytes(out.bytes)} to ${out.location}; ${out.runsCompleted.length} transfer-pending run(s) completed`,
      data: { objects: out.objects, bytes: out.bytes, runsCompleted: out.runsCompleted },
    };
  },
});
