/**
 * A backup in its own process, for tests that SIGKILL it: `node --import tsx
 * test/helpers/backup-child.ts <repo dir> <source dir>`. Backs up the source
 * with the newest snapshot as parent; prints `started` once the repository is
 * open and a JSON line with the outcome at the end.
 */
import { backupDir, openRepo } from './repo.js';

const [repoDir, source] = process.argv.slice(2);
if (!repoDir || !source) {
  process.stderr.write('usage: backup-child.ts <repo dir> <source dir>\n');
  process.exit(2);
}
const repo = await openRepo(repoDir);
const parent = (await repo.listSnapshots()).at(-1);
process.stdout.write('started\n');
const out = await backupDir(repo, source, { parent });
process.stdout.write(JSON.stringify({ snapshot: out.snapshot.id, stats: out.snapshot.stats, orphansRecovered: out.orphansRecovered }) + '\n');
