/**
 * What a new user met in their first hour with the CLI (issue 21), each on the
 * real CLI (`node bin/lifeboat.js`): help for hosts, tui without a terminal, a
 * closed pipe, unknown names with "did you mean", --read-data's three forms,
 * required options shown as required, one meaning for -n, global options in
 * help, and --wide.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import { textWidth } from '../../src/cli/render-text.js';
import { ensureCliBuilt, repoRoot, runCli, TEST_KEYS_ENV, writeRunbook, type CliResult } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('cli-usage');

beforeAll(ensureCliBuilt);

/** A folder with runbooks/<names>.yaml and a state folder, as a user's working folder. */
async function workspace(names: string[] = ['demo']): Promise<{ cwd: string; env: Record<string, string> }> {
  const cwd = await tempDir();
  await mkdir(join(cwd, 'runbooks'));
  await mkdir(join(cwd, 'data'));
  await writeFile(join(cwd, 'data', 'a.txt'), 'hello\n');
  for (const name of names) writeRunbook(join(cwd, 'runbooks'), name, { source: join(cwd, 'data'), repo: join(cwd, `repo-${name}`) });
  return { cwd, env: { LIFEBOAT_HOME: join(cwd, '.lifeboat'), LIFEBOAT_PASSWORD: 'correct horse battery staple' } };
}

/** The CLI with its stdout closed before it writes (a reader that stopped early, like `| head -1`). */
function runWithClosedStdout(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: '', stderr }));
  });
}

describe('hosts: tui and serve', () => {
  it('`tui --help` and `help tui` print tui\'s help (not the console), and --help lists tui, serve and completion', async () => {
    const [flag, topic, main] = await Promise.all([runCli(['tui', '--help']), runCli(['help', 'tui']), runCli(['--help'])]);
    for (const res of [flag, topic]) {
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^Usage: lifeboat tui\n/);
      expect(res.stdout).toContain('The terminal console');
    }
    expect(flag.stdout).toBe(topic.stdout);
    expect(main.stdout).toMatch(/^ {2}tui {2,}The terminal console/m);
    expect(main.stdout).toMatch(/^ {2}serve {2,}Run the scheduler/m);
    expect(main.stdout).toMatch(/^ {2}completion {2,}Print a shell completion script/m);
  });

  it('`tui` without a terminal refuses at once: exit 2 and one sentence that names what works instead', async () => {
    const { cwd, env } = await workspace();
    const res = await runCli(['tui'], { cwd, env });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('lifeboat: lifeboat tui needs a terminal; without one, `lifeboat status` prints the table\n');
    expect(res.stdout).toBe('');
  });

  it('serve takes the same did-you-mean for a mistyped flag, exit 2, before starting anything', async () => {
    const res = await runCli(['serve', '--metrics-prot', '0']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('serve: unknown option --metrics-prot (did you mean --metrics-port?)');
  });
});

describe('a reader that closes stdout early', () => {
  it('ends status, history, --help and a command\'s help quietly: no EPIPE, no stack trace', async () => {
    const { cwd, env } = await workspace();
    const results = await Promise.all([
      runWithClosedStdout(['status'], { cwd, env }),
      runWithClosedStdout(['history'], { cwd, env }),
      runWithClosedStdout(['runbooks'], { cwd, env }),
      runWithClosedStdout(['--help'], { cwd, env }),
      runWithClosedStdout(['restore', '--help'], { cwd, env }),
    ]);
    for (const res of results) {
      expect(res.stderr).not.toMatch(/EPIPE|Error|at .*\.js:\d+/);
      expect(res.code).toBe(0);
    }
  });
});

describe('unknown names: exit 2 with the closest known one', () => {
  it('help for an unknown command is an error, not the main help', async () => {
    const [nope, snapshot] = await Promise.all([runCli(['help', 'nope']), runCli(['help', 'snapshot'])]);
    expect(nope.code).toBe(2);
    expect(nope.stdout).toBe('');
    expect(nope.stderr).toMatch(/^lifeboat: unknown command "nope"; `lifeboat --help` lists the commands\n$/);
    expect(snapshot.code).toBe(2);
    expect(snapshot.stderr).toContain('unknown command "snapshot" (did you mean snapshots?)');
  });

  it('commands, flags and runbook names', async () => {
    const { cwd, env } = await workspace(['demo', 'orders-db']);
    const [command, flag, runbook, other] = await Promise.all([
      runCli(['snapshot', 'demo'], { cwd, env }),
      runCli(['restore', 'demo', '--traget', join(cwd, 'out')], { cwd, env }),
      runCli(['backup', 'dmeo'], { cwd, env }),
      runCli(['snapshots', 'orders_db'], { cwd, env }),
    ]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "snapshot" (did you mean snapshots?)');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('restore: unknown option --traget (did you mean --target?)');
    expect(runbook.code).toBe(2);
    expect(runbook.stderr).toContain('No runbook named "dmeo"');
    expect(runbook.stderr).toContain('did you mean "demo"?');
    expect(other.stderr).toContain('did you mean "orders-db"?');
  });

  it('a mistyped global option before the command', async () => {
    const res = await runCli(['--jsn', 'status']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('lifeboat: unknown option --jsn (did you mean --json?); before the command only --json, --quiet, --config, --wide, --help, --version (see `lifeboat --help`)\n');
  });
});

describe('check --read-data', () => {
  it('works alone, with a separate value and with =value; usage says the value is optional', async () => {
    const { cwd, env } = await workspace();
    const init = await runCli(['init', 'demo'], { cwd, env });
    expect(init.code, init.stderr).toBe(0);
    const backup = await runCli(['backup', 'demo'], { cwd, env });
    expect(backup.code, backup.stderr).toBe(0);
    const forms = [['check', 'demo', '--read-data'], ['check', '--read-data', 'demo'], ['check', 'demo', '--read-data', '10%'], ['check', 'demo', '--read-data=10%']];
    for (const args of forms) {
      const res = await runCli(['--json', ...args], { cwd, env });
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
      expect(JSON.parse(res.stdout).summary, args.join(' ')).toMatch(/^no errors: .*, read \d+ packs/);
    }
    const bad = await runCli(['check', 'demo', '--read-data', '10'], { cwd, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--read-data: Percentage without a % sign: "10"');
    const help = await runCli(['check', '--help']);
    expect(help.stdout).toMatch(/^Usage: lifeboat check <runbook> \[--read-data \[P%\]\]\n/);
  });
});

describe('usage shows what is required', () => {
  it('restore\'s --target is shown bare (not in brackets) and marked required; missing it is exit 2', async () => {
    const [help, missing] = await Promise.all([runCli(['restore', '--help']), runCli(['restore', 'demo'])]);
    expect(help.stdout).toMatch(/^Usage: lifeboat restore <runbook> \[snapshot\] --target DIR \[/);
    expect(help.stdout).toMatch(/-t, --target DIR +folder to restore into \(created if missing\) \(required unless --estimate\)/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('restore: --target DIR is required (unless --estimate)');
  });
});

describe('short flags mean one thing', () => {
  it('-n is --dry-run wherever it exists; --limit has no short flag; no command gives a letter twice', async () => {
    for (const command of commands) {
      const shorts = Object.entries(command.options).filter(([, o]) => o.short !== undefined);
      expect(new Set(shorts.map(([, o]) => o.short)).size, command.name).toBe(shorts.length);
      for (const [name, o] of shorts) if (o.short === 'n') expect(name, command.name).toBe('dry-run');
      if (command.options['dry-run']) expect(command.options['dry-run'].short, command.name).toBe('n');
    }
    const [history, schedule, forget, limitN] = await Promise.all([
      runCli(['history', '--help']),
      runCli(['schedule', '--help']),
      runCli(['forget', '--help']),
      runCli(['history', '-n', '5']),
    ]);
    expect(history.stdout).toMatch(/^ {6}--limit N /m);
    expect(schedule.stdout).toMatch(/^ {6}--limit N /m);
    expect(forget.stdout).toMatch(/^ {2}-n, --dry-run /m);
    expect(limitN.code).toBe(2);
    expect(limitN.stderr).toContain('history: unknown option -n');
  });
});

describe('global options', () => {
  it('are listed in the main help and in every command\'s help', async () => {
    const names = [...commands.map((c) => c.name), 'tui', 'serve', 'completion'];
    const [main, ...helps] = await Promise.all([runCli(['--help']), ...names.map((n) => runCli([n, '--help']))]);
    const globals = [/^ {6}--json /m, /^ {2}-q, --quiet /m, /^ {6}--config PATH /m, /^ {6}--wide /m, /^ {2}-h, --help /m, /^ {2}-V, --version /m];
    for (const g of globals) expect(main.stdout).toMatch(g);
    helps.forEach((h, i) => {
      expect(h.code, names[i]).toBe(0);
      expect(h.stdout, names[i]).toContain('\nGlobal options:\n');
      for (const g of globals) expect(h.stdout, names[i]).toMatch(g);
    });
  });

  it('-q is taken as a global flag; --wide prints a table\'s cells whole where COLUMNS would cut them', async () => {
    const { cwd, env } = await workspace(['a-runbook-with-a-rather-long-name']);
    const [fitted, wide, quiet] = await Promise.all([
      runCli(['runbooks'], { cwd, env: { ...env, COLUMNS: '40' } }),
      runCli(['runbooks', '--wide'], { cwd, env: { ...env, COLUMNS: '40' } }),
      runCli(['runbooks', '-q'], { cwd, env: { ...env, COLUMNS: '40' } }),
    ]);
    for (const res of [fitted, wide, quiet]) expect(res.code, res.stderr).toBe(0);
    expect(fitted.stdout).toContain('…');
    expect(fitted.stdout).not.toContain(`file://${join(cwd, 'repo-a-runbook-with-a-rather-long-name')}`);
    expect(wide.stdout).toContain(`file://${join(cwd, 'repo-a-runbook-with-a-rather-long-name')}`);
    expect(wide.stdout).not.toContain('…');
  });

  it('a CJK cell is cut by its width on screen (two columns a character), and --wide keeps it whole', async () => {
    const cwd = await tempDir();
    await mkdir(join(cwd, 'runbooks'));
    // Not a valid runbook: the table still lists it by its file name, which is what is measured here.
    await writeFile(join(cwd, 'runbooks', '東京のバックアップ.yaml'), 'name: x\n');
    const env = { LIFEBOAT_HOME: join(cwd, '.lifeboat'), COLUMNS: '40' };
    const [fitted, wide] = await Promise.all([runCli(['runbooks'], { cwd, env }), runCli(['runbooks', '--wide'], { cwd, env })]);
    const row = (out: string) => out.split('\n').find((l) => l.startsWith('東京'))!;
    expect(row(fitted.stdout)).toMatch(/^東京のバ… {3}—/);
    // The next column starts where its header does, counted in screen columns.
    const header = fitted.stdout.split('\n')[0]!;
    expect(textWidth(row(fitted.stdout).slice(0, row(fitted.stdout).indexOf('—')))).toBe(header.indexOf('SOURCES'));
    expect(row(wide.stdout)).toMatch(/^東京のバックアップ {2}—/);
  });
});
