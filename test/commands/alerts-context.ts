/** A CommandContext over a MemoryStore and a FakeClock, for calling a command's `run` directly. */
import type { CommandContext } from '../../commands/command.js';
import { FakeClock } from '../../src/core/clock.js';
import { ignoreEvents } from '../../src/core/events.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { Actor, AlertRecord } from '../../src/core/store/records.js';

export function commandContext(options: { store?: MemoryStore; clock?: FakeClock; actor?: Actor; dir?: string } = {}): CommandContext & { memory: MemoryStore; fakeClock: FakeClock } {
  const memory = options.store ?? new MemoryStore();
  const fakeClock = options.clock ?? new FakeClock('2026-03-10T12:00:00Z');
  const dir = options.dir ?? '/nonexistent/lifeboat-test';
  return {
    actor: options.actor ?? { face: 'cli', user: 'alice' },
    env: {},
    cwd: dir,
    home: `${dir}/.lifeboat`,
    runbooksDir: `${dir}/runbooks`,
    clock: fakeClock,
    emit: ignoreEvents,
    signal: new AbortController().signal,
    store: async () => memory,
    memory,
    fakeClock,
  };
}

export function openAlert(key: string, fields: Partial<AlertRecord> = {}): AlertRecord {
  const [rule = 'stale', runbook = 'app-data'] = key.split(':');
  return {
    key,
    runbook,
    rule,
    severity: 'critical',
    message: 'last successful backup 27h ago, RPO 26h',
    firstSeen: '2026-03-10T09:00:00.000Z',
    lastSeen: '2026-03-10T12:00:00.000Z',
    count: 4,
    status: 'open',
    ...fields,
  };
}
