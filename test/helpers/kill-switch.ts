/**
 * The kill switch of the crash tests: a Backend wrapper that SIGKILLs its own
 * process when one exact call comes, so a test can stop an operation between
 * any two writes of the repository (test/helpers/tier-child.ts,
 * test/helpers/repo-op-child.ts).
 *
 * A kill point is `<save|remove>:<kind>:<n>`: the n-th `save` (or `remove`) of
 * that kind of file that reaches the backend kills the process before the call
 * does anything (`save:index:1` = the packs are saved, no index file is).
 * `savePackFile` (a backup worker's pack written to a file) counts as a `save`:
 * killed there, the pack is a temp file that nothing lists.
 * Calls in flight at that moment may or may not finish, as in a real crash.
 */
import { fileKinds, type Backend, type FileKind, type Handle } from '../../src/core/backends/backend.js';

export type KillOp = 'save' | 'remove';

export interface KillPoint {
  op: KillOp;
  kind: FileKind;
  /** 1 = the first such call. */
  n: number;
}

/** Parse `<save|remove>:<kind>:<n>`; throws with the input when it is not one. */
export function parseKillPoint(text: string): KillPoint {
  const m = /^(save|remove):([a-z]+):([1-9]\d*)$/.exec(text);
  const kind = m?.[2] as FileKind | undefined;
  if (!m || !kind || !fileKinds.includes(kind)) {
    throw new Error(`Unknown kill point: "${text}" (expected <save|remove>:<kind>:<n>, kind one of ${fileKinds.join(', ')}, n from 1)`);
  }
  return { op: m[1] as KillOp, kind, n: Number(m[3]) };
}

export function formatKillPoint(point: KillPoint): string {
  return `${point.op}:${point.kind}:${point.n}`;
}

/** Calls that reached the backend, by `<op>:<kind>` (`save:data` → 7): how a test learns the kill points of a run. */
export type CallCounts = Record<string, number>;

export interface KillSwitchOptions {
  /** What to print after `reached ` (default: the point itself; tier-child adds its `hot:`/`cold:` side). */
  label?: string;
  /** Filled with every save and remove that reaches the backend, the fatal one included. */
  counts?: CallCounts;
}

/**
 * The backend as is, except that the call at `point` prints `reached <label>`
 * and kills the process instead of happening. Without a point it only counts.
 */
export function withKillSwitch(backend: Backend, point: KillPoint | undefined, options: KillSwitchOptions = {}): Backend {
  const counts = options.counts ?? {};
  const label = options.label ?? (point ? formatKillPoint(point) : '');
  return new Proxy(backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = (value as (...a: unknown[]) => unknown).bind(target);
      // A pack a backup worker wrote to a file (Backend.savePackFile) is a save like any other.
      const op = prop === 'savePackFile' ? 'save' : prop;
      if (op !== 'save' && op !== 'remove') return method;
      return (handle: Handle, ...rest: unknown[]) => {
        const key = `${op}:${handle.kind}`;
        const seen = (counts[key] = (counts[key] ?? 0) + 1);
        if (point && point.op === op && point.kind === handle.kind && seen === point.n) {
          // Exit only once the line is out: the parent reads it to know where the child died.
          process.stdout.write(`reached ${label}\n`, () => process.kill(process.pid, 'SIGKILL'));
          return new Promise(() => undefined);
        }
        return method(handle, ...rest);
      };
    },
  });
}

/** The backend as is, counting every save and remove into `counts` (how a test learns a run's kill points). */
export function countingBackend(backend: Backend, counts: CallCounts): Backend {
  return withKillSwitch(backend, undefined, { counts });
}
