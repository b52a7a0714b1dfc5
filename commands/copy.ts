import { ExitCode, fillCopiesNow } from '../src/core/index.js';
import { exitCodeOf } from './backup.js';
import { defineCommand } from './command.js';
import { rawArgs, runbookPositional, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const copyCommand = defineCommand({
  name: 'copy',
  summary: 'Fill the runbook\'s repository.copies now, as a backup\'s copy stage does',
  description:
    'Copies the runbook\'s snapshots each copy lacks from the hot repository (only the data the copy lacks), verifies them there and reads the new packs back, then applies the copy\'s keep. Every backup does this in its copy stage; run it to catch a copy up after an outage without waiting for the next backup. A copy that cannot be reached fails on its own (exit 3 when others were filled, 1 when none was) and keeps copy-failed open. --copy NAME fills only that copy.',
  options: {
    copy: { type: 'string', description: 'fill only this one of repository.copies', valueName: 'NAME' },
  },
  positionals: [runbookPositional],
  schema: rawArgs.transform((r): { runbook: string; copy?: string } => {
    const copy = str(r.options.copy);
    return { runbook: r.positionals[0]!, ...(copy === undefined ? {} : { copy }) };
  }),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { run } = await fillCopiesNow({ ...(await runContextFor(runbook, ctx)), ...(args.copy === undefined ? {} : { copy: args.copy }) });
    const lines = (run.copies ?? []).map((c) =>
      c.status === 'succeeded' ? `${c.name}: ${c.snapshotsCopied} snapshot(s) copied` : `${c.name}: FAILED — ${c.error?.message ?? 'no details recorded'}`,
    );
    const failed = (run.copies ?? []).filter((c) => c.status === 'failed').length;
    return {
      exitCode: run.status === 'succeeded' ? ExitCode.ok : exitCodeOf(run.status),
      summary: `${run.status === 'succeeded' ? 'filled' : run.status} ${runbook.name}: ${(run.copies ?? []).length - failed} of ${(run.copies ?? []).length} cop${(run.copies ?? []).length === 1 ? 'y' : 'ies'} filled`,
      lines,
      data: { run },
    };
  },
});
