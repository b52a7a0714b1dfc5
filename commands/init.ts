import { ExitCode } from '../src/core/errors.js';
import { initRunbookRepository } from '../src/core/repo/open-repository.js';
import { defineCommand } from './command.js';
import { runbookOnly } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';

export const initCommand = defineCommand({
  name: 'init',
  summary: 'Create the repository a runbook backs up into',
  description: 'Creates the hot repository named in the runbook (a folder or a bucket prefix), with a new master key wrapped by the runbook\'s password. Refuses if a repository is already there.',
  ...runbookOnly,
  access: 'backup',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const repo = await initRunbookRepository(runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
    return {
      exitCode: ExitCode.ok,
      summary: `created repository ${repo.config.id.slice(0, 8)} at ${repo.backend.location}`,
      data: { id: repo.config.id, location: repo.backend.location },
    };
  },
});
