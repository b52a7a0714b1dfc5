/**
 * For pipeline tests that need the CLI as a process they can signal or kill,
 * read run records while a run is going, or make sources big enough to take
 * seconds: a CLI child with its pid, the run records of a state folder, polling,
 * and fast incompressible test data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFill } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { openJsonStore, stateFilePath, type RunRecord, type StageRecord } from '../../src/core/store/index.js';
import { repoRoot, TEST_KEYS_ENV, type CliResult } from './cli.js';

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited and its output is closed. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** `node bin/lifeboat.js ...args` as a child the test can signal; the same minimal environment as runCli. */
export function startCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  if (child.pid === undefined) throw new Error('could not start the lifeboat CLI');
  return { child, pid: child.pid, done };
}

/**
 * The run records of a state folder as they are on disk right now, without
 * the store's lock: the store replaces its file by rename, so a read sees one
 * whole version. For polling while a run is going.
 */
export async function peekRuns(home: string): Promise<RunRecord[]> {
  let text: string;
  try {
    text = await readFile(stateFilePath(home), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return (JSON.parse(text) as { runs: RunRecord[] }).runs;
}

/** The runs of `runbook` through the store's own API, newest first. */
export async function runsOf(home: string, runbook: string): Promise<RunRecord[]> {
  const store = await openJsonStore(home);
  try {
    return await store.listRuns({ runbook, limit: 10_000 });
  } finally {
    await store.close();
  }
}

export function stageOf(run: RunRecord, name: StageRecord['name']): StageRecord | undefined {
  return run.stages.find((s) => s.name === name);
}

/** Poll `probe` until it returns a value other than undefined, or throw after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Wait until a run of `runbook` has stage `stage` running; returns that run as seen then. */
export function waitForStageRunning(home: string, runbook: string, stage: StageRecord['name'], timeoutMs = 30_000): Promise<RunRecord> {
  return waitFor(
    `stage ${stage} of ${runbook} to be running`,
    async () => (await peekRuns(home)).find((r) => r.runbook === runbook && r.status === 'running' && r.stages.some((s) => s.name === stage && s.status === 'running')),
    timeoutMs,
  );
}

const fill = promisify(randomFill);

/**
 * `count` files `<prefix><i>.bin` of `bytesEach` random bytes in `dir`:
 * incompressible and unique, so a backup has to read, compress and store all
 * of it (~200 MiB takes a couple of seconds to back up on a small machine).
 */
export async function writeRandomFiles(dir: string, count: number, bytesEach: number, prefix = 'blob-'): Promise<string[]> {
  const names: string[] = [];
  const buf = Buffer.allocUnsafe(bytesEach);
  for (let i = 0; i < count; i++) {
    await fill(buf);
    const name = `${prefix}${String(i).padStart(3, '0')}.bin`;
    await writeFile(join(dir, name), buf);
    names.push(name);
  }
  return names;
}

/** Pack files in a folder repository: name → size. */
export async function packsIn(repoDir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const data = join(repoDir, 'data');
  for (const sub of await readdir(data)) {
    for (const name of await readdir(join(data, sub))) out.set(name, (await stat(join(data, sub, name))).size);
  }
  return out;
}

