/**
 * The prerendered help (dist/help.json, written by scripts/build.mjs and
 * answered by bin/lifeboat.js before the CLI loads) is exactly the help the
 * specs render now, and the fast path answers the same argv the CLI would,
 * with the same text: they cannot drift apart (issue 22's start-up).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import { answerFromTexts, helpRequest } from '../../src/cli/help-request.js';
import { helpTexts } from '../../src/cli/help-texts.js';
import { ensureCliBuilt, repoRoot, runCli, runProgram, type CliResult } from '../helpers/cli.js';

beforeAll(ensureCliBuilt);

/** The CLI itself (dist/lifeboat.js), not bin/lifeboat.js's prerendered answer. */
function runFullCli(args: string[]): Promise<CliResult> {
  return runProgram(process.execPath, [join(repoRoot, 'dist/lifeboat.js'), ...args]);
}

describe('prerendered help', () => {
  it('dist/help.json holds exactly the texts the specs render, for every command, host and shell helper', async () => {
    const built = JSON.parse(await readFile(join(repoRoot, 'dist/help.json'), 'utf8')) as unknown;
    const rendered = helpTexts();
    expect(built).toEqual(rendered);
    expect(Object.keys(rendered.topics)).toEqual(expect.arrayContaining([...commands.map((c) => c.name), 'tui', 'serve', 'completion']));
  });

  it('bin/lifeboat.js answers help and the version with the same text and exit code as the CLI', async () => {
    const asks = [['--help'], ['-h'], ['help'], ['help', 'restore'], ['restore', '--help'], ['check', 'app', '-h'], ['tui', '--help'], ['serve', '--help'], ['--json', 'history', '--help'], ['--version'], ['-V']];
    for (const args of asks) {
      const [fast, full] = await Promise.all([runCli(args), runFullCli(args)]);
      expect(fast.code, args.join(' ')).toBe(0);
      expect(fast.stdout, args.join(' ')).toBe(full.stdout);
      expect(fast.stdout.length, args.join(' ')).toBeGreaterThan(0);
      expect(full.code, args.join(' ')).toBe(0);
    }
  });

  it('says each note about an option once: no description repeats what help adds after it', () => {
    const { topics } = helpTexts();
    for (const [name, text] of Object.entries(topics)) {
      for (const line of text.split('\n')) {
        for (const note of ['repeatable', 'required']) {
          expect(line.split(`(${note}`).length, `${name}: ${line}`).toBeLessThanOrEqual(2);
        }
      }
    }
  });

  it('reads argv as the CLI does: globals anywhere, help after `--` is an argument, unknown topics go to the CLI', () => {
    expect(helpRequest([])).toBeUndefined();
    expect(helpRequest(['status'])).toBeUndefined();
    expect(helpRequest(['--config', 'x.yaml', '--help'])).toEqual({ kind: 'main' });
    expect(helpRequest(['-q', 'backup', 'app', '--help'])).toEqual({ kind: 'topic', name: 'backup' });
    expect(helpRequest(['dump', 'app', 'latest', '--', '--help'])).toBeUndefined();
    expect(helpRequest(['help', 'nope'])).toEqual({ kind: 'topic', name: 'nope' });
    // Not in the texts: bin/lifeboat.js hands it to the CLI, which says "unknown command" (exit 2).
    expect(answerFromTexts(helpTexts(), ['help', 'nope'])).toBeUndefined();
    expect(answerFromTexts(helpTexts(), ['help', 'constructor'])).toBeUndefined();
  });
});
