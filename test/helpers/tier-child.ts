/**
 * A tier in its own process that SIGKILLs itself at an exact point, for the
 * crash tests: `node --import tsx test/helpers/tier-child.ts <runbook file>
 * <kill point>`, with LIFEBOAT_HOME, LIFEBOAT_TEST_NOW, the password and the
 * AWS credentials in the environment.
 *
 * A kill point is `<hot|cold>:<save|remove>:<kind>:<n>`: the process kills
 * itself when the n-th such call reaches that repository's backend, before
 * the call does anything (e.g. `cold:save:snapshots:1` = the cold index is
 * written, the cold snapshot record is not; `hot:remove:index:1` = prune wrote
 * its new index and is about to delete the old ones). It runs the same
 * tierSnapshots as `lifeboat tier`; only the chosen side's backend is wrapped
 * (test/helpers/kill-switch.ts).
 * Prints `reached <point>` just before dying, or `done <json>` if it never got there.
 */
import { clockFromEnv } from '../../src/core/clock.js';
import { openRepositoryStack, type OpenedRepository, type Tier } from '../../src/core/repo/open-repository.js';
import { Repository } from '../../src/core/repo/repository.js';
import { loadRunbook, resolveSecret, type Runbook } from '../../src/core/runbook/index.js';
import { tierSnapshots } from '../../src/core/tier/tier-snapshots.js';
import { parseKillPoint, withKillSwitch } from './kill-switch.js';

const [runbookFile, point] = process.argv.slice(2);
const match = /^(hot|cold):(.*)$/.exec(point ?? '');
if (!runbookFile || !match) {
  process.stderr.write('usage: tier-child.ts <runbook file> <hot|cold>:<save|remove>:<kind>:<n>\n');
  process.exit(2);
}
const side = match[1] as Tier;
const killPoint = parseKillPoint(match[2]!);
const env = process.env;
const home = env.LIFEBOAT_HOME!;

async function open(runbook: Runbook, tier: Tier): Promise<OpenedRepository> {
  const stack = await openRepositoryStack(runbook, { env, home, tier });
  const backend = tier === side ? withKillSwitch(stack.backend, killPoint, { label: point }) : stack.backend;
  const repo = await Repository.open(backend, await resolveSecret(runbook.repository.password, env));
  await repo.loadIndex();
  return { ...stack, backend, repo };
}

const runbook = await loadRunbook(runbookFile, { runbooksDir: home, home, cwd: process.cwd() });
const outcome = await tierSnapshots({
  runbook,
  clock: clockFromEnv(env),
  emit: () => undefined,
  hot: await open(runbook, 'hot'),
  cold: await open(runbook, 'cold'),
});
process.stdout.write(`done ${JSON.stringify({ ...outcome, pending: outcome.pending?.message })}\n`);
