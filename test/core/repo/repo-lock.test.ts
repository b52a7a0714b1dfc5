/**
 * The repository lock (src/core/repo/repo-lock.ts: lock files under locks/):
 * shared takers coexist and an exclusive one is alone; a refusal names the
 * holder; a holder that is gone (dead process on this host, or not refreshed
 * for 30 minutes) is cleared; and when two processes race for the exclusive
 * lock, exactly one gets it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import type { LifeboatError } from '../../../src/core/errors.js';
import { processAlive } from '../../../src/core/process-info.js';
import { RepositoryLock, type LockInfo } from '../../../src/core/repo/repo-lock.js';
import { repoRoot } from '../../helpers/cli.js';
import { rejection } from '../backends/contract.js';
import { createRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('repo-lock');
const childScript = join(repoRoot, 'test/helpers/repo-lock-child.ts');

async function repoBackend(): Promise<{ dir: string; backend: LocalBackend }> {
  const dir = await tempDir();
  await createRepo(dir);
  return { dir, backend: new LocalBackend(dir) };
}

async function lockFiles(backend: LocalBackend): Promise<string[]> {
  const names: string[] = [];
  for await (const { name } of backend.list('locks')) names.push(name);
  return names;
}

/** The REPO_LOCKED error a take is refused with. */
const refusal = async (take: Promise<unknown>) => (await rejection(take, 'REPO_LOCKED')) as LifeboatError;

/** A lock file as another holder would have left it. */
async function plantLock(backend: LocalBackend, name: string, info: Partial<LockInfo>): Promise<void> {
  const at = new Date().toISOString();
  const full: LockInfo = { exclusive: true, host: hostname(), pid: process.pid, time: at, refreshed: at, purpose: 'planted', ...info };
  await backend.save({ kind: 'locks', name }, Buffer.from(JSON.stringify(full)));
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(child.stdout);
  expect(processAlive(pid)).toBe(false);
  return pid;
}

describe('shared and exclusive', () => {
  it('lets shared takers hold the lock together and refuses an exclusive one, naming a holder, until they are gone', async () => {
    const { backend } = await repoBackend();
    const a = await RepositoryLock.acquire(backend, { exclusive: false, purpose: 'backup of a' });
    const b = await RepositoryLock.acquire(backend, { exclusive: false, purpose: 'restore of a' });
    expect(await lockFiles(backend)).toHaveLength(2);

    const refused = await refusal(RepositoryLock.acquire(backend, { exclusive: true, purpose: 'prune of a' }));
    expect(refused.retryable).toBe(true);
    expect(refused.message).toMatch(new RegExp(`is locked by (backup|restore) of a \\(pid ${process.pid} on ${hostname()}, since \\S+\\); try again when it is done`));
    expect(refused.details.holder).toMatchObject({ exclusive: false, pid: process.pid, host: hostname() });
    // The refused taker leaves nothing behind.
    expect(await lockFiles(backend)).toHaveLength(2);

    await a.release();
    await refusal(RepositoryLock.acquire(backend, { exclusive: true, purpose: 'prune of a' }));
    await b.release();
    const x = await RepositoryLock.acquire(backend, { exclusive: true, purpose: 'prune of a' });
    expect(await lockFiles(backend)).toEqual([x.name]);
    await x.release();
    expect(await lockFiles(backend)).toEqual([]);
  });

  it('refuses shared and exclusive takers alike while an exclusive lock is held, saying it is exclusive', async () => {
    const { backend } = await repoBackend();
    const x = await RepositoryLock.acquire(backend, { exclusive: true, purpose: 'forget of a' });
    for (const exclusive of [false, true]) {
      const refused = await refusal(RepositoryLock.acquire(backend, { exclusive, purpose: 'backup of a' }));
      expect(refused.message).toContain('is locked exclusively by forget of a');
    }
    await x.release();
    await (await RepositoryLock.acquire(backend, { exclusive: false, purpose: 'backup of a' })).release();
  });
});

describe('a holder that is gone', () => {
  it('clears the lock of a process on this host that is dead, and takes the lock', async () => {
    const { backend } = await repoBackend();
    await plantLock(backend, 'dead-holder', { pid: deadPid(), exclusive: true, purpose: 'prune killed with -9' });
    const lock = await RepositoryLock.acquire(backend, { exclusive: true, purpose: 'prune of a' });
    expect(await lockFiles(backend)).toEqual([lock.name]);
    await lock.release();
  });

  it('clears a lock of another host not refreshed for more than 30 minutes, and respects one refreshed since', async () => {
    const { backend } = await repoBackend();
    const old = new Date(Date.now() - 31 * 60_000).toISOString();
    const recent = new Date(Date.now() - 60_000).toISOString();
    await plantLock(backend, 'stale-elsewhere', { host: 'another-host', pid: 1, time: old, refreshed: old, purpose: 'backup on another-host' });
    const lock = await RepositoryLock.acquire(backend, { exclusive: true, purpose: 'prune of a' });
    expect(await lockFiles(backend)).toEqual([lock.name]);
    await lock.release();

    // Its pid cannot be checked from here: a lock refreshed a minute ago is a live holder.
    await plantLock(backend, 'fresh-elsewhere', { host: 'another-host', pid: 1, time: old, refreshed: recent, purpose: 'backup on another-host' });
    const refused = await refusal(RepositoryLock.acquire(backend, { exclusive: true, purpose: 'prune of a' }));
    expect(refused.message).toContain('backup on another-host (pid 1 on another-host');
    expect(await lockFiles(backend)).toEqual(['fresh-elsewhere']);
  });

  it('does not clear the lock of a live process on this host', async () => {
    const { backend } = await repoBackend();
    await plantLock(backend, 'live-holder', { pid: process.ppid, exclusive: false, purpose: 'check of a' });
    await refusal(RepositoryLock.acquire(backend, { exclusive: true, purpose: 'prune of a' }));
    expect(await lockFiles(backend)).toEqual(['live-holder']);
  });
});

type Outcome = { held: true } | { held: false; holder: LockInfo };

interface Taker {
  pid: number;
  /** Round r's outcome: `held`, or `refused` with the holder it named. */
  outcome(round: number): Promise<Outcome>;
  /** Round r's lock released (a holder only). */
  released(round: number): Promise<void>;
  done: Promise<number | null>;
}

/** A taker process for `rounds` rounds, signalled through files in `signals` (test/helpers/repo-lock-child.ts). */
function startTaker(dir: string, mode: 'shared' | 'exclusive', signals: string, rounds: number): Taker {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir, mode, signals, String(rounds)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  // One promise per awaited line ("outcome 3", "released 3"), whichever comes first: the line or the wait.
  const slots = new Map<string, { promise: Promise<unknown>; resolve: (value: unknown) => void }>();
  const slot = (key: string) => {
    let found = slots.get(key);
    if (!found) {
      let resolve: (value: unknown) => void = () => undefined;
      const promise = new Promise((r) => (resolve = r));
      found = { promise, resolve };
      slots.set(key, found);
    }
    return found;
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [word, round, ...rest] = line.split(' ');
    if (word === 'released') slot(`released ${round}`).resolve(undefined);
    else slot(`outcome ${round}`).resolve(word === 'held' ? { held: true } : { held: false, holder: JSON.parse(rest.join(' ')) as LockInfo });
  });
  const failed = done.then((code) => {
    throw new Error(`lock taker exited with ${code} before it answered: ${stderr}`);
  });
  failed.catch(() => undefined);
  return {
    pid: child.pid!,
    outcome: (round) => Promise.race([slot(`outcome ${round}`).promise as Promise<Outcome>, failed]),
    released: (round) => Promise.race([slot(`released ${round}`).promise.then(() => undefined), failed]),
    done,
  };
}

describe('two processes racing for the exclusive lock', () => {
  it('one wins, round after round; the other is refused naming the winner', async () => {
    const { dir, backend } = await repoBackend();
    const signals = await tempDir();
    const rounds = 8;
    // Both processes poll for each round's go file, so they take the lock at the same moment.
    const takers = [startTaker(dir, 'exclusive', signals, rounds), startTaker(dir, 'exclusive', signals, rounds)];
    for (let round = 0; round < rounds; round++) {
      await writeFile(join(signals, `go-${round}`), '');
      const outcomes = await Promise.all(takers.map((t) => t.outcome(round)));
      const winners = takers.filter((_, i) => outcomes[i]!.held);
      expect(winners, `round ${round}: ${JSON.stringify(outcomes)}`).toHaveLength(1);
      const lost = outcomes.find((o) => !o.held);
      expect(lost && !lost.held && lost.holder).toMatchObject({ exclusive: true, pid: winners[0]!.pid });
      await writeFile(join(signals, `release-${round}`), '');
      await winners[0]!.released(round);
      expect(await lockFiles(backend), `round ${round}: a lock file left behind`).toEqual([]);
    }
    expect(await Promise.all(takers.map((t) => t.done))).toEqual([0, 0]);
  });
});
