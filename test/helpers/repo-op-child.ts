/**
 * One repository operation (test/helpers/repo-ops.ts) in its own process, for
 * crash tests that stop it at an exact backend call (test/helpers/kill-switch.ts):
 *
 *   node --import tsx test/helpers/repo-op-child.ts [--kill <point>] <op> <repo dir> [op args…]
 *
 * The repository is a local folder opened with the test password
 * (test/helpers/repo.ts). Prints `reached <point>` just before it kills itself,
 * or `done <json>` when the operation ends: `{ result, calls }`, where `calls`
 * counts every save and remove that reached the backend by `<op>:<kind>`.
 */
import { LocalBackend } from '../../src/core/backends/local-backend.js';
import { parseKillPoint, withKillSwitch, type CallCounts, type KillPoint } from './kill-switch.js';
import { RepoOpUsageError, repoOps, runRepoOp } from './repo-ops.js';

function usage(): string {
  return [
    'usage: repo-op-child.ts [--kill <save|remove>:<kind>:<n>] <op> <repo dir> [op args…]',
    ...Object.entries(repoOps).map(([name, op]) => `  ${name} <repo dir> ${op.args}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  let point: KillPoint | undefined;
  if (argv[0] === '--kill') {
    try {
      point = parseKillPoint(argv[1] ?? '');
    } catch (e) {
      throw new RepoOpUsageError((e as Error).message);
    }
    argv = argv.slice(2);
  }
  const [name, repoDir, ...args] = argv;
  if (!name || !repoDir) throw new RepoOpUsageError('missing arguments');
  const calls: CallCounts = {};
  const result = await runRepoOp(withKillSwitch(new LocalBackend(repoDir), point, { counts: calls }), name, args);
  process.stdout.write(`done ${JSON.stringify({ result, calls })}\n`);
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof RepoOpUsageError)) throw e;
  process.stderr.write(`${e.message}\n${usage()}\n`);
  process.exit(2);
}
