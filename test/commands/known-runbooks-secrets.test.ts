/**
 * invokeCommand learns the secrets to keep in from the runbooks a long-running
 * face already loaded (ctx.knownRunbooks: serve's catalog), so a scheduled
 * fire no longer re-reads and validates the whole runbooks folder (the fleet
 * bench's 500 fires a minute made that serve's bottleneck). Shown with a
 * runbook whose password file is known only through knownRunbooks: the
 * context's runbooks folder does not exist.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { defineCommand } from '../../commands/command.js';
import { invokeCommand } from '../../commands/invoke.js';
import { rawArgs } from '../../commands/support/args.js';
import { ExitCode } from '../../src/core/errors.js';
import { loadRunbook } from '../../src/core/runbook/index.js';
import { writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from './alerts-context.js';

const tempDir = useTempDirs('known-runbooks-secrets');
const SECRET = 'file-held-repository-secret-4711';

describe('secrets of the runbooks a face loaded', () => {
  it('are kept out of a command result without reading the runbooks folder', async () => {
    const dir = await tempDir();
    const runbooksDir = join(dir, 'runbooks');
    await mkdir(runbooksDir);
    const file = writePipelineRunbook(runbooksDir, 'app', { sources: [{ name: 'files', path: dir }], repo: join(dir, 'repo') });
    const keyFile = join(dir, 'app.key');
    await writeFile(keyFile, `${SECRET}\n`);
    await chmod(keyFile, 0o600);
    const doc = parse(await readFile(file, 'utf8')) as { repository: Record<string, unknown> };
    doc.repository.password = { file: keyFile };
    await writeFile(file, stringify(doc));
    const runbook = await loadRunbook('app', { runbooksDir, home: join(dir, 'home'), cwd: dir });

    const leaky = defineCommand({
      name: 'leaky',
      summary: 'says what it should not',
      options: {},
      positionals: [],
      schema: rawArgs.transform(() => ({})),
      access: 'anyone',
      audited: false,
      run: async () => ({ exitCode: ExitCode.ok, summary: `the password is ${SECRET}` }),
    });
    // The context's runbooks folder does not exist: only knownRunbooks can tell the secret.
    const ctx = commandContext();
    const told = await invokeCommand({ command: leaky, argv: [] }, { ...ctx, knownRunbooks: () => [runbook] });
    expect(told.summary).not.toContain(SECRET);
    expect(told.summary).toMatch(/^the password is /);
    // Without them the folder is read — and holds nothing here, so the value goes through: the test can fail.
    expect((await invokeCommand({ command: leaky, argv: [] }, ctx)).summary).toContain(SECRET);
  });
});
