import { ExitCode, init } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { runbookOnly } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const initCommand = defineCommand({
  name: 'init',
  summary: 'Create the repository a runbook backs up into',
  description: 'Creates the repositories named in the runbook (a folder or a bucket prefix, the bucket too when the credentials may): the hot one, with a new master key wrapped by the runbook\'s password, and the cold one when the runbook has repository.cold (its own master key, same password; one already there is kept once the password opens it). Refuses if the hot repository is already there.',
  ...runbookOnly,
  access: 'backup',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const repo = await init(await runContextFor(runbook, ctx));
    const cold = repo.cold ? `; cold repository ${repo.cold.id.slice(0, 8)} at ${repo.cold.location}${repo.cold.created ? ' created' : ' was already there (kept)'}` : '';
    return {
      exitCode: ExitCode.ok,
      summary: `created repository ${repo.id.slice(0, 8)} at ${repo.location}${cold}`,
      data: repo,
    };
  },
});
