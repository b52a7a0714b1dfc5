/**
 * A real repository for the browsing commands (ls, find, diff, dump): three
 * backups of runbook `files` made by the CLI, with tricky names (NFC and
 * CJK and emoji, spaces, a newline), symlinks (one dangling), empty folders,
 * a binary file, and between the backups a file edited, one deleted, one
 * deleted and re-created, one changed in mode only, a symlink retargeted.
 * A second runbook, `other`, backs up a different tree into the same
 * repository (with a source of the same name and an app.yaml of its own), so
 * tests can show each runbook sees only its own snapshots.
 *
 * Every mtime is set, and each backup runs at a fixed LIFEBOAT_TEST_NOW, so
 * listings are the same on every run but for snapshot ids (and the
 * milliseconds of their times): `normalize` names those by their order.
 */
import { chmod, lutimes, mkdir, readdir, lstat, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, type CliResult } from './cli.js';
import { pipelineEnv, writePipelineRunbook } from './pipeline-runbook.js';

export const NEWLINE_NAME = 'line\nbreak.txt';
export const SPACED_NAME = ' spaced name .txt';
export const BINARY = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));

export interface BrowseRepo {
  base: string;
  /** The source folder of runbook `files`, as it is after the last backup. */
  src: string;
  /** Runbook files (paths to the YAML). */
  files: string;
  other: string;
  env: Record<string, string>;
  /** Snapshot ids of `files`, oldest first; `other`'s one snapshot. */
  snaps: string[];
  otherSnap: string;
  /** Snapshot i's time as the tables show it (the test clock runs on from each backup's LIFEBOAT_TEST_NOW, so its seconds vary). */
  taken(i: number): string;
  cli(args: string[], expectCode?: number): Promise<CliResult>;
  /** `--json` output with snapshot ids and times replaced by <s1>, <s1-time>, …, <other>. */
  normalize(text: string): string;
}

const at = (iso: string) => Date.parse(iso) / 1000;

async function stampTree(root: string, iso: string): Promise<void> {
  // Folders get the phase's time, deepest first; files and symlinks keep what they were given.
  const visit = async (abs: string): Promise<void> => {
    for (const e of await readdir(abs, { withFileTypes: true })) if (e.isDirectory()) await visit(join(abs, e.name));
    await utimes(abs, at(iso), at(iso));
  };
  await visit(root);
}

async function put(root: string, rel: string, content: string | Buffer, mtime: string, mode = 0o644): Promise<void> {
  const abs = join(root, rel);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
  await chmod(abs, mode);
  await utimes(abs, at(mtime), at(mtime));
}

async function link(root: string, rel: string, target: string, mtime: string): Promise<void> {
  const abs = join(root, rel);
  await rm(abs, { force: true });
  await mkdir(join(abs, '..'), { recursive: true });
  await symlink(target, abs);
  await lutimes(abs, at(mtime), at(mtime));
}

async function folder(root: string, rel: string): Promise<void> {
  await mkdir(join(root, rel), { recursive: true });
  await chmod(join(root, rel), 0o755);
}

export async function buildBrowseRepo(base: string): Promise<BrowseRepo> {
  const src = join(base, 'src');
  const otherSrc = join(base, 'other-src');
  const repo = join(base, 'repo');
  await folder(base, 'src');
  await folder(base, 'other-src');
  const files = writePipelineRunbook(base, 'files', { repo, sources: [{ name: 'data', path: src }] });
  const other = writePipelineRunbook(base, 'other', { repo, sources: [{ name: 'data', path: otherSrc }] });
  const home = join(base, 'home');
  const envAt = (now: string) => pipelineEnv(home, { LIFEBOAT_TEST_NOW: now });
  const env = envAt('2026-12-04T09:00:00Z');
  const run = async (args: string[], e: Record<string, string>, code = 0) => {
    const res = await runCli(args, { env: e });
    expect(res.code, `lifeboat ${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(code);
    return res;
  };
  const times = new Map<string, string>();
  const backup = async (runbook: string, now: string): Promise<string> => {
    const res = await run(['backup', runbook, '--json'], envAt(now));
    const { id, time } = (JSON.parse(res.stdout) as { data: { snapshot: { id: string; time: string } } }).data.snapshot;
    times.set(id, time);
    return id;
  };
  await run(['init', files], env);

  // Snapshot 1.
  for (const dir of ['etc', 'unicode', 'bin', 'links', 'empty dir']) await folder(src, dir);
  await put(src, 'etc/app.yaml', 'port: 8080\n', '2026-11-20T10:00:00Z');
  await put(src, 'etc/deleted.conf', 'gone tomorrow\n', '2026-11-21T10:00:00Z');
  await put(src, 'etc/recreated.conf', 'first life\n', '2026-11-22T10:00:00Z');
  await put(src, 'unicode/caf\u00e9.txt', 'NFC\n', '2026-11-23T10:00:00Z');
  await put(src, 'unicode/日本語.txt', 'こんにちは\n', '2026-11-23T10:00:01Z');
  await put(src, 'unicode/emoji-🚀.txt', 'rocket\n', '2026-11-23T10:00:02Z');
  await put(src, SPACED_NAME, 'spaces around\n', '2026-11-24T10:00:00Z');
  await put(src, NEWLINE_NAME, 'a newline in my name\n', '2026-11-24T10:00:01Z');
  await put(src, 'bin/blob.bin', BINARY, '2026-11-25T10:00:00Z', 0o600);
  await link(src, 'links/to-app', '../etc/app.yaml', '2026-11-26T10:00:00Z');
  await link(src, 'links/dangling', 'does/not/exist', '2026-11-26T10:00:01Z');
  await stampTree(src, '2026-11-30T00:00:00Z');
  const s1 = await backup(files, '2026-12-01T02:00:00Z');

  // Snapshot 2: app.yaml edited, deleted.conf and recreated.conf deleted, the spaced file's mode changed, a folder added.
  await put(src, 'etc/app.yaml', 'port: 9090\nworkers: 4\n', '2026-12-01T15:00:00Z');
  await rm(join(src, 'etc/deleted.conf'));
  await rm(join(src, 'etc/recreated.conf'));
  await chmod(join(src, SPACED_NAME), 0o600);
  await put(src, 'new dir/added.txt', 'added on day two\n', '2026-12-01T16:00:00Z');
  await chmod(join(src, 'new dir'), 0o755);
  await stampTree(src, '2026-12-01T23:00:00Z');
  const s2 = await backup(files, '2026-12-02T02:00:00Z');

  // Snapshot 3: recreated.conf back with other content, the symlink pointed at it.
  await put(src, 'etc/recreated.conf', 'second life, longer than the first\n', '2026-12-02T12:00:00Z');
  await link(src, 'links/to-app', '../etc/recreated.conf', '2026-12-02T12:00:01Z');
  await stampTree(src, '2026-12-02T23:00:00Z');
  const s3 = await backup(files, '2026-12-03T02:00:00Z');

  // The other runbook, same repository, same source name, an app.yaml of its own: newer than every snapshot of `files`.
  await put(otherSrc, 'etc/app.yaml', 'not yours\n', '2026-12-03T10:00:00Z');
  await put(otherSrc, 'etc/only-other.conf', 'other\n', '2026-12-03T10:00:00Z');
  await stampTree(otherSrc, '2026-12-03T11:00:00Z');
  const otherSnap = await backup(other, '2026-12-03T12:00:00Z');

  const snaps = [s1, s2, s3];
  const names: [string, string][] = [...snaps.map((id, i): [string, string] => [id, `s${i + 1}`]), [otherSnap, 'other']];
  return {
    base,
    src,
    files,
    other,
    env,
    snaps,
    otherSnap,
    taken: (i) => shown(times.get(snaps[i]!)!),
    cli: (args, code = 0) => run(args, env, code),
    normalize(text) {
      let out = text;
      for (const [id, name] of names) {
        out = out.replaceAll(id, `<${name}>`).replaceAll(id.slice(0, 8), `<${name}>`);
        const time = times.get(id);
        if (time !== undefined) out = out.replaceAll(time, `<${name}-time>`).replaceAll(shown(time), `<${name}-time>`);
      }
      return out.replaceAll(base, '<base>');
    },
  };
}

/** As src/core/format.ts formatTime shows a time. */
const shown = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** Every entry below `root` as `path type size mode`, for comparing an unpacked tar with its source. */
export async function treeListing(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const st = await lstat(join(abs, name));
      const p = rel === '' ? name : `${rel}/${name}`;
      out.push(`${JSON.stringify(p)} ${st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file'} ${st.isFile() ? st.size : ''} ${(st.mode & 0o7777).toString(8)} ${Math.floor(st.mtimeMs / 1000)}`);
      if (st.isDirectory()) await visit(join(abs, name), p);
    }
  };
  await visit(root, '');
  return out;
}
