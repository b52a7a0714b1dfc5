/**
 * A Store over another one that can be switched "down" (every call fails as a
 * refused connection, the way pg fails) and logs each write it let through, in
 * order: what the spool tests check order and idempotence against.
 */
import type { Store } from '../../../../src/core/store/store.js';

export function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });
}

export interface FlakyStore extends Store {
  down: boolean;
  /** `putRun r1 <status>`, `appendAudit a1`, … for every write that reached the store. */
  log: string[];
  /** Called before each write reaches the store; may throw to refuse it (or switch `down`). */
  beforeWrite?: (what: string) => void | Promise<void>;
  /** Called after each write reached the store, before it answers (throw to lose the answer of a committed write). */
  afterWrite?: (what: string) => void;
}

const WRITES = new Set(['putRun', 'putDrill', 'appendAudit', 'putAlert']);

export function flaky(inner: Store, log: string[] = []): FlakyStore {
  const state = { down: false, log, beforeWrite: undefined as ((w: string) => void | Promise<void>) | undefined, afterWrite: undefined as ((w: string) => void) | undefined };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'down' || prop === 'log' || prop === 'beforeWrite' || prop === 'afterWrite') return state[prop];
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        if (state.down) throw refused();
        const name = String(prop);
        if (!WRITES.has(name)) return (value as (...a: unknown[]) => unknown).apply(target, args);
        const record = args[0] as { id?: string; key?: string; status?: string; verdict?: string };
        const what = `${name} ${record.id ?? record.key}${record.status ? ` ${record.status}` : ''}`;
        await state.beforeWrite?.(what);
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        state.log.push(what);
        state.afterWrite?.(what);
        return result;
      };
    },
    set(_target, prop, value) {
      if (prop === 'down' || prop === 'log' || prop === 'beforeWrite' || prop === 'afterWrite') {
        (state as Record<string, unknown>)[prop] = value;
        return true;
      }
      return false;
    },
  }) as FlakyStore;
}
