/**
 * `lifeboat dump` through the real CLI over three real backups: a file's
 * exact bytes (the edited one in each version, the deleted one from the
 * snapshot that still held it, a binary one), a folder as a tar that GNU tar
 * unpacks into the same tree (unicode, a newline and spaces in names,
 * symlinks, empty folders, modes, mtimes), --output, the terminal guard on
 * a real pseudo-terminal, golden --json, and a second runbook's snapshot in
 * the same repository refused.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { beforeAll, describe, expect, it } from 'vitest';
import * as registry from '../../commands/index.js';
import { tuiHost } from '../../src/tui/run-tui.js';
import { commandContext } from './alerts-context.js';
import { BINARY, buildBrowseRepo, treeListing, type BrowseRepo } from '../helpers/browse-repo.js';
import { ensureCliBuilt, repoRoot, TEST_KEYS_ENV } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('dump-command');
let r: BrowseRepo;
let out: string;

beforeAll(async () => {
  await ensureCliBuilt();
  r = await buildBrowseRepo(await tempDir());
  out = await tempDir();
}, 120_000);

const cliEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...r.env });

/** The CLI with stdout going straight into `file` (bytes as they are), stderr collected. */
function dumpTo(file: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const fd = openSync(file, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'dump', ...args], { env: cliEnv(), stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      closeSync(fd);
      resolve({ code, stderr });
    });
  });
}

/** The CLI on a pseudo-terminal: its exit code, and what it printed (node-pty may report the exit before the last chunk, so only the start is relied on). */
function onTerminal(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const pty = spawnPty(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'dump', ...args], { env: cliEnv(), cols: 120, rows: 40, cwd: repoRoot });
    let output = '';
    pty.onData((d) => (output += d));
    pty.onExit(({ exitCode }) => resolve({ code: exitCode, output }));
  });
}

const id = (i: number) => r.snaps[i]!.slice(0, 8);

describe('dump', () => {
  it('writes a file\'s bytes to stdout: each version of the edited file, the deleted one from the snapshot that held it, a binary file exactly', async () => {
    expect((await r.cli(['dump', r.files, id(0), 'data/etc/app.yaml'])).stdout).toBe('port: 8080\n');
    const latest = await r.cli(['dump', r.files, 'latest', 'data/etc/app.yaml']);
    expect(latest.stdout).toBe('port: 9090\nworkers: 4\n'); // the contents and nothing else
    expect((await r.cli(['dump', r.files, id(0), 'data/etc/deleted.conf'])).stdout).toBe('gone tomorrow\n');
    expect((await r.cli(['dump', r.files, id(2), 'data/etc/recreated.conf'])).stdout).toBe('second life, longer than the first\n');
    expect((await r.cli(['dump', r.files, 'latest', 'data/line\nbreak.txt'])).stdout).toBe('a newline in my name\n');
    expect((await r.cli(['dump', r.files, 'latest', 'data/ spaced name .txt'])).stdout).toBe('spaces around\n');
    const bin = join(out, 'blob.bin');
    const res = await dumpTo(bin, [r.files, 'latest', 'data/bin/blob.bin']);
    expect(res.code, res.stderr).toBe(0);
    expect(await readFile(bin)).toEqual(BINARY);
  });

  it('writes a folder as a tar that GNU tar unpacks into the tree that was backed up', async () => {
    const tar = join(out, 'data.tar');
    const res = await dumpTo(tar, [r.files, 'latest', 'data']);
    expect(res.code, res.stderr).toBe(0);
    const into = join(out, 'unpacked');
    await mkdir(into);
    const untar = spawnSync('tar', ['-xf', tar, '-C', into], { encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);
    // The source is as the latest backup left it: names, kinds, sizes, modes and mtimes (to the second) alike.
    expect(await treeListing(join(into, 'data'))).toEqual(await treeListing(r.src));
    expect(await readFile(join(into, 'data/line\nbreak.txt'), 'utf8')).toBe('a newline in my name\n');

    // A folder inside: names start at the folder's own name. The whole snapshot: at the sources.
    const etc = join(out, 'etc.tar');
    expect((await dumpTo(etc, [r.files, id(0), 'data/etc'])).code).toBe(0);
    expect(spawnSync('tar', ['-tf', etc], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)).toEqual(['etc/', 'etc/app.yaml', 'etc/deleted.conf', 'etc/recreated.conf']);
    const all = join(out, 'all.tar');
    expect((await dumpTo(all, [r.files, id(0), '/'])).code).toBe(0);
    expect(spawnSync('tar', ['-tf', all], { encoding: 'utf8' }).stdout.split('\n')[0]).toBe('data/');
  });

  it('--output writes a file (refusing to replace one without --force); golden --json', async () => {
    const file = join(out, 'app.yaml');
    const res = await r.cli(['dump', r.files, id(0), 'data/etc/app.yaml', '--output', file, '--json']);
    await expect(r.normalize(res.stdout).replaceAll(out, '<out>')).toMatchFileSnapshot('../fixtures/browse/dump-output.json');
    expect(await readFile(file, 'utf8')).toBe('port: 8080\n');
    const again = await r.cli(['dump', r.files, 'latest', 'data/etc/app.yaml', '-o', file], 2);
    expect(again.stderr).toContain(`${file} exists; choose another --output, or pass --force`);
    expect(await readFile(file, 'utf8')).toBe('port: 8080\n');
    await r.cli(['dump', r.files, 'latest', 'data/etc/app.yaml', '-o', file, '--force']);
    expect(await readFile(file, 'utf8')).toBe('port: 9090\nworkers: 4\n');
    // A dump that fails leaves nothing under the name asked for.
    const failed = join(out, 'never.txt');
    await r.cli(['dump', r.files, 'latest', 'data/etc/nowhere', '-o', failed], 2);
    await expect(readFile(failed)).rejects.toThrow(/ENOENT/);
  });

  it('stops with one line (exit 130), not a stack trace, when the reader closes stdout', async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'dump', r.files, 'latest', 'data'], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first byte, like `| head` that has had enough
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('lifeboat: stdout was closed by its reader: the dump stopped there');
    expect(stderr).not.toContain('Unhandled');
  });

  it('has no stdout for the contents under --json, and refuses a symlink, naming its target', async () => {
    const json = await r.cli(['dump', r.files, 'latest', 'data/etc/app.yaml', '--json'], 2);
    expect(json.stdout).toContain('give --output FILE');
    const link = await r.cli(['dump', r.files, 'latest', 'data/links/to-app'], 2);
    expect(link.stderr).toContain('data/links/to-app is a symlink to ../etc/recreated.conf');
  });

  it('on a terminal: prints a text file, refuses a binary file and a tar unless --force', async () => {
    const text = await onTerminal([r.files, 'latest', 'data/etc/app.yaml']);
    expect(text.code).toBe(0);
    const binary = await onTerminal([r.files, 'latest', 'data/bin/blob.bin']);
    expect(binary.code).toBe(2);
    expect(binary.output).not.toContain('\u0000');
    const folder = await onTerminal([r.files, 'latest', 'data/etc']);
    expect(folder.code).toBe(2);
    expect(folder.output).not.toContain('ustar');
    const forced = await onTerminal([r.files, 'latest', 'data/etc', '--force']);
    expect(forced.code).toBe(0);
  });

  it('from the console\'s prompt: ls shows its table; dump has no stdout there and writes --output FILE', async () => {
    const host = tuiHost(registry, (emit, signal) => ({ ...commandContext({ actor: { face: 'tui', user: 'alice' }, dir: r.base }), env: cliEnv(), home: r.env.LIFEBOAT_HOME!, cwd: out, emit, signal }));
    const signal = new AbortController().signal;
    const listed = await host.run(['ls', r.files, 'data/etc', '-l'], () => undefined, signal);
    expect(listed.exitCode, listed.summary).toBe(0);
    expect(listed.table?.rows.map((row) => row.name)).toEqual(['app.yaml', 'recreated.conf']);
    const refused = await host.run(['dump', r.files, 'latest', 'data/etc/app.yaml'], () => undefined, signal);
    expect(refused.exitCode).toBe(2);
    expect(refused.summary).toContain('give --output FILE');
    const written = await host.run(['dump', r.files, 'latest', 'data/etc/app.yaml', '-o', 'from-console.yaml'], () => undefined, signal);
    expect(written.exitCode, written.summary).toBe(0);
    expect(await readFile(join(out, 'from-console.yaml'), 'utf8')).toBe('port: 9090\nworkers: 4\n');
    await host.outboxIdle();
  });

  it('reads only its own runbook\'s snapshots in a shared repository', async () => {
    const res = await r.cli(['dump', r.files, r.otherSnap.slice(0, 8), 'data/etc/app.yaml'], 2);
    expect(res.stderr).toContain('belongs to runbook other, not to files');
    expect(res.stdout).toBe('');
    expect((await r.cli(['dump', r.other, 'latest', 'data/etc/app.yaml'])).stdout).toBe('not yours\n');
  });
});

