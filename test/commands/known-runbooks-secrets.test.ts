/**
 * invokeCommand learns the secrets to keep in from the runbooks a long-running
 * face already loaded (ctx.knownRunbooks: serve's catalog), so a scheduled
 * fire no longer re-reads and validates the whole runbooks folder (the fleet
 * bench's 500 fires a minute made that serve's bottleneck). Shown with a
 * runbook whose password file is known only through knownRunbooks: the
 * context's runbooks folder does not exist.
 */
import { describe, expect, it } from 'vitest';
import { invokeCommand } from '../../commands/invoke.js';
import { leakyCommand, runbookWithKeyFile } from '../helpers/file-key-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from './alerts-context.js';

const tempDir = useTempDirs('known-runbooks-secrets');
const SECRET = 'file-held-repository-secret-4711';

describe('secrets of the runbooks a face loaded', () => {
  it('are kept out of a command result without reading the runbooks folder', async () => {
    const dir = await tempDir();
    const { runbook } = await runbookWithKeyFile(dir, SECRET);

    const leaky = leakyCommand(() => SECRET);
    // The context's runbooks folder does not exist: only knownRunbooks can tell the secret.
    const ctx = commandContext();
    const told = await invokeCommand({ command: leaky, argv: [] }, { ...ctx, knownRunbooks: () => [runbook] });
    expect(told.summary).not.toContain(SECRET);
    expect(told.summary).toMatch(/^the password is /);
    // Without them the folder is read — and holds nothing here, so the value goes through: the test can fail.
    expect((await invokeCommand({ command: leaky, argv: [] }, ctx)).summary).toContain(SECRET);
  });
});
