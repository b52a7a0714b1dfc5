import { ExitCode, init } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { runbookOnly } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const initCommand = defineCommand({
  name: 'init',
  summary: 'Create the repository a runbook backs up into',
  description: 'Creates the hot repository named in the runbook (a folder or a bucket prefix), with a new master key wrapped by the runbook\'s password. Refuses if a repository is already there.',
  ...runbookOnly,
  access: 'backup',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const repo = await init(await runContextFor(runbook, ctx));
    return {
      exitCode: ExitCode.ok,
      summary: `created repository ${repo.id.slice(0, 8)} at ${repo.location}`,
      data: repo,
    };
  },
});
