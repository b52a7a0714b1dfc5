/**
 * Commands started together with the same loaded runbooks (serve's fires due
 * at one instant) share the secrets learned from them (known-secrets.ts
 * learnedOnce): every one of them keeps the runbook's secret in, and a
 * command started after they were learned learns afresh — a key file
 * rewritten since is known to it, not the old value only.
 */
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { invokeCommand } from '../../commands/invoke.js';
import { leakyCommand, runbookWithKeyFile } from '../helpers/file-key-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from './alerts-context.js';

const tempDir = useTempDirs('known-secrets-burst');
const FIRST = 'first-repository-secret-0815';
const SECOND = 'second-repository-secret-4242';

describe('secrets learned for commands started together', () => {
  it('are kept in by each of them; a command started later learns them again', async () => {
    const dir = await tempDir();
    const { runbook, keyFile } = await runbookWithKeyFile(dir, FIRST);
    // One list for all, as serve's catalog gives while nothing changed.
    const loaded = [runbook];
    let said = FIRST;
    const leaky = leakyCommand(() => said);
    const ctx = { ...commandContext(), knownRunbooks: () => loaded };
    const burst = await Promise.all(Array.from({ length: 20 }, () => invokeCommand({ command: leaky, argv: [] }, ctx)));
    for (const told of burst) {
      expect(told.summary).not.toContain(FIRST);
      expect(told.summary).toMatch(/^the password is /);
    }
    // The key file rewritten after the burst: the next command knows the new value.
    await writeFile(keyFile, `${SECOND}\n`);
    said = SECOND;
    const later = await invokeCommand({ command: leaky, argv: [] }, ctx);
    expect(later.summary).not.toContain(SECOND);
    expect(later.summary).toMatch(/^the password is /);
  });
});
