/**
 * Which threads of a fresh process run nicer than the process while a
 * backup's worker pool works, and while a pool for other work does:
 * `node --import tsx test/helpers/thread-priority-child.ts <cli|agent> <empty dir>`
 * (agent: keepIdleRepositoryWorker first, as `lifeboat agent` does). Prints
 * one JSON line. In a process of its own because keepIdleRepositoryWorker is
 * for the life of the process, and the test runner shares modules between files.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { currentThreadId } from '../../src/core/repo/thread-priority.js';
import { keepIdleRepositoryWorker, WorkerPool } from '../../src/core/repo/worker-pool.js';
import { createRepo, smallRepo } from './repo.js';

const [mode, dir] = process.argv.slice(2);
if ((mode !== 'cli' && mode !== 'agent') || !dir) {
  process.stderr.write('usage: thread-priority-child.ts <cli|agent> <empty dir>\n');
  process.exit(2);
}
if (mode === 'agent') keepIdleRepositoryWorker();

/** A thread's nice value: field 19 of its stat line, counted after the parenthesised name (which may hold spaces). */
function niceOf(tid: number | string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}
const main = currentThreadId()!;
const base = niceOf(main);
/** Nice values of this process's threads other than the main one, above the process's. */
const nicer = (): number[] => readdirSync('/proc/self/task').map(niceOf).filter((n) => n > base);

const repo = await createRepo(join(dir, 'repo'), smallRepo);
const file = { path: join(dir, 'f.bin'), size: 32 * 1024 };
await writeFile(file.path, randomBytes(file.size));

const backup = new WorkerPool(repo, { workers: 2, yieldToWalk: true });
await backup.online;
// A job per worker answered: each has run its start-up, whose last step is the yield.
await Promise.all([backup.backup([file]), backup.backup([file])]);
const duringBackup = nicer();
await backup.flush();
await backup.close();
const afterBackup = nicer();

const other = new WorkerPool(repo, { workers: 2 });
await other.online;
await Promise.all([other.backup([file]), other.backup([file])]);
const duringOther = nicer();
await other.flush();
await other.close();

process.stdout.write(`${JSON.stringify({ base, main: niceOf(main), duringBackup, afterBackup, duringOther })}\n`);
