/**
 * A loaded runbook whose repository password is held in a key file (0600), and
 * a command that says a value it should not: what the secret-redaction tests
 * of invokeCommand need (test/commands/known-*-secrets*.test.ts).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { defineCommand } from '../../commands/command.js';
import { rawArgs } from '../../commands/support/args.js';
import { ExitCode } from '../../src/core/errors.js';
import { loadRunbook } from '../../src/core/runbook/index.js';
import type { Runbook } from '../../src/core/runbook/types.js';
import { writePipelineRunbook } from './pipeline-runbook.js';

/** Writes runbook `app` under `dir`/runbooks with its password in `dir`/app.key, and loads it. */
export async function runbookWithKeyFile(dir: string, secret: string): Promise<{ runbook: Runbook; keyFile: string }> {
  const runbooksDir = join(dir, 'runbooks');
  await mkdir(runbooksDir);
  const file = writePipelineRunbook(runbooksDir, 'app', { sources: [{ name: 'files', path: dir }], repo: join(dir, 'repo') });
  const keyFile = join(dir, 'app.key');
  await writeFile(keyFile, `${secret}\n`);
  await chmod(keyFile, 0o600);
  const doc = parse(await readFile(file, 'utf8')) as { repository: Record<string, unknown> };
  doc.repository.password = { file: keyFile };
  await writeFile(file, stringify(doc));
  return { runbook: await loadRunbook('app', { runbooksDir, home: join(dir, 'home'), cwd: dir }), keyFile };
}

/** A command whose summary says `the password is <say()>`: a redactor must keep the value out. */
export function leakyCommand(say: () => string) {
  return defineCommand({
    name: 'leaky',
    summary: 'says what it should not',
    options: {},
    positionals: [],
    schema: rawArgs.transform(() => ({})),
    access: 'anyone',
    audited: false,
    run: async () => ({ exitCode: ExitCode.ok, summary: `the password is ${say()}` }),
  });
}
