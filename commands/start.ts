import { ExitCode, init, isLifeboatError } from '../src/core/index.js';
import { defineCommand, type CommandResult } from './command.js';
import { backupCommand } from './backup.js';
import { statusCommand } from './status.js';
import { rawArgs } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

/**
 * What `npm start` does: make sure the demo runbook is valid and its
 * repository exists (creating the key and repository on first run), back it
 * up, and show where every runbook stands. On a terminal the CLI face then
 * opens the console instead of printing the table (src/cli/main.ts); the
 * command itself stays face-neutral.
 */
export const startCommand = defineCommand({
  name: 'start',
  summary: 'Prepare the demo (key, repository), back it up, then open the console (the status table when not on a terminal)',
  options: {},
  positionals: [{ name: 'runbook', description: 'runbook to run (default: demo)' }],
  schema: rawArgs.transform((r) => ({ runbook: r.positionals[0] ?? 'demo' })),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const lines: string[] = [`runbook ${runbook.name} is valid (${runbook.file})`];
    try {
      const repo = await init(await runContextFor(runbook, ctx));
      lines.push(`created repository at ${repo.location}`);
    } catch (e) {
      if (!isLifeboatError(e, 'REPO_EXISTS')) throw e;
    }
    const backup: CommandResult = await backupCommand.run({ runbook: args.runbook }, ctx);
    lines.push(backup.summary ?? '', ...(backup.lines ?? []));
    const status = await statusCommand.run({}, ctx);
    return {
      exitCode: backup.exitCode === ExitCode.ok ? status.exitCode : backup.exitCode,
      summary: status.summary,
      lines,
      table: status.table,
      data: { backup: backup.data, status: status.data },
    };
  },
});
