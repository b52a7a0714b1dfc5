/**
 * Scheduled jobs hand their command typed arguments (src/serve/scheduled-jobs.ts),
 * through the registry serve was given: verify's read-data share reaches
 * `check` as the runbook's own number (12.345%, which the old text round trip
 * `--read-data=12.35%` rounded), every other argument is what an operator's
 * bare command gets, and invokeCommand runs typed arguments as they are.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { defineCommand, type CommandContext, type CommandResult } from '../../commands/command.js';
import { findCommand } from '../../commands/index.js';
import { invokeCommand, parseCommandArgs, type Invocation } from '../../commands/invoke.js';
import { rawArgs } from '../../commands/support/args.js';
import { systemClock } from '../../src/core/clock.js';
import { ExitCode } from '../../src/core/errors.js';
import { loadRunbook } from '../../src/core/runbook/index.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import { serve } from '../../src/serve/daemon.js';
import { commandOfKind, scheduledInvocation } from '../../src/serve/scheduled-jobs.js';
import { writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from '../commands/alerts-context.js';

const tempDir = useTempDirs('scheduled-jobs');

/** A runbook verifying 12.345% of its data every second. */
async function setup() {
  const dir = await tempDir();
  const runbooksDir = join(dir, 'runbooks');
  await mkdir(runbooksDir);
  const file = writePipelineRunbook(runbooksDir, 'app', { sources: [{ name: 'files', path: dir }], repo: join(dir, 'repo'), verify: { readData: '12.345%' } });
  const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  doc.schedule = { verify: '* * * * * *', timezone: 'UTC' };
  await writeFile(file, stringify(doc));
  const locations = { runbooksDir, home: join(dir, 'home'), cwd: dir };
  return { dir, locations, runbook: await loadRunbook('app', locations) };
}

describe('scheduled jobs', () => {
  it('each kind runs its command with the bare command’s arguments, and verify with the runbook’s read-data share exactly', async () => {
    const { runbook } = await setup();
    expect(runbook.verify.readDataFraction).toBe(0.12345);
    for (const kind of ['backup', 'verify', 'drill', 'tier'] as const) {
      const job = scheduledInvocation(kind, runbook);
      const command = findCommand(job.command);
      expect(command?.name, kind).toBe(commandOfKind[kind]);
      const bare = parseCommandArgs(command!, ['app']) as Record<string, unknown>;
      expect(job.args, kind).toEqual(kind === 'verify' ? { ...bare, readData: 0.12345 } : bare);
      expect(job.argv).toEqual(['app']);
    }
  });

  it('invokeCommand runs typed arguments as they are (argv is not parsed) and audits argv', async () => {
    const seen: unknown[] = [];
    const strict = defineCommand({
      name: 'strict',
      summary: 'refuses every argv',
      options: {},
      positionals: [],
      schema: rawArgs.refine(() => false, { message: 'no argv' }).transform(() => ({ n: 0 })),
      access: 'anyone',
      run: async (args) => {
        seen.push(args);
        return { exitCode: ExitCode.ok, summary: 'ran' };
      },
    });
    const ctx = commandContext();
    const typed = await invokeCommand({ command: strict, argv: ['app'], args: { n: 0.12345 }, where: 'schedule' }, ctx);
    expect(typed).toMatchObject({ exitCode: ExitCode.ok, summary: 'ran' });
    expect(seen).toEqual([{ n: 0.12345 }]);
    expect(await ctx.memory.listAudit()).toMatchObject([{ command: 'strict', args: ['app'], where: 'schedule', result: 'ok' }]);
    // Without typed arguments argv is parsed, and this schema refuses it.
    expect((await invokeCommand({ command: strict, argv: ['app'] }, ctx)).exitCode).toBe(ExitCode.usage);
  });

  it('serve runs a due verify through the registry it was given, with typed arguments', async () => {
    const { locations } = await setup();
    const stop = new AbortController();
    const invoked: Invocation[] = [];
    const registry = {
      findCommand,
      async invokeCommand(inv: Invocation, _ctx: CommandContext): Promise<CommandResult> {
        invoked.push(inv);
        stop.abort();
        return { exitCode: ExitCode.ok, summary: 'checked' };
      },
    };
    const store = new MemoryStore();
    const ctx: CommandContext = { ...commandContext({ store }), ...locations, clock: systemClock, signal: stop.signal };
    const outcome = await serve({
      ctx,
      registry,
      graceMs: 0,
      jitterMs: 0,
      shutdownDeadlineMs: 5_000,
      staleCheckMs: 3_600_000,
      announcer: { announce: async (runbook, startsAt) => ({ runbook: runbook.name, startsAt }), result: async () => undefined },
    });
    expect(outcome.jobsRun).toBe(1);
    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({ argv: ['app'], args: { runbook: 'app', readData: 0.12345 }, where: 'schedule' });
    expect(invoked[0]!.command.name).toBe('check');
  });
});
