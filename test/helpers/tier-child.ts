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
 * tierSnapshots as `lifeboat tier`; only the backends are wrapped.
 * Prints `reached <point>` just before dying, or `done <json>` if it never got there.
 */
import type { Backend, FileKind, Handle } from '../../src/core/backends/backend.js';
import { clockFromEnv } from '../../src/core/clock.js';
import { openRepositoryStack, type OpenedRepository, type Tier } from '../../src/core/repo/open-repository.js';
import { Repository } from '../../src/core/repo/repository.js';
import { loadRunbook, resolveSecret, type Runbook } from '../../src/core/runbook/index.js';
import { tierSnapshots } from '../../src/core/tier/tier-snapshots.js';

const [runbookFile, point] = process.argv.slice(2);
const match = /^(hot|cold):(save|remove):([a-z]+):(\d+)$/.exec(point ?? '');
if (!runbookFile || !match) {
  process.stderr.write('usage: tier-child.ts <runbook file> <hot|cold>:<save|remove>:<kind>:<n>\n');
  process.exit(2);
}
const [, side, op, kind, nth] = match as unknown as [string, Tier, 'save' | 'remove', FileKind, string];
const env = process.env;
const home = env.LIFEBOAT_HOME!;

/** The backend as is, except that the chosen call kills the process instead of happening. */
function withKillSwitch(backend: Backend): Backend {
  let seen = 0;
  return new Proxy(backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === op) {
        return (handle: Handle, ...rest: unknown[]) => {
          if (handle.kind === kind && ++seen === Number(nth)) {
            process.stdout.write(`reached ${point}\n`, () => process.kill(process.pid, 'SIGKILL'));
            return new Promise(() => undefined);
          }
          return (value as (...a: unknown[]) => unknown).call(target, handle, ...rest);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

async function open(runbook: Runbook, tier: Tier): Promise<OpenedRepository> {
  const stack = await openRepositoryStack(runbook, { env, home, tier });
  const backend = tier === side ? withKillSwitch(stack.backend) : stack.backend;
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
