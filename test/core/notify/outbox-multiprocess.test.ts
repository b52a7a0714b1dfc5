/**
 * The outbox across real OS processes sharing one JSON store, each with real
 * HTTP sinks pointed at one recording server: nothing is sent twice by two
 * live deliverers, and nothing is lost when a deliverer is killed mid-send.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { deliveriesFor } from '../../../src/core/notify/routing.js';
import { openJsonStore } from '../../../src/core/store/json-store.js';
import type { AlertRecord, AlertTransition } from '../../../src/core/store/records.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../helpers/recording-http.js';
import { spawnScript } from '../store/helpers/spawn-worker.js';
import { useTempHomes } from '../store/helpers/temp-home.js';
import { received } from './helpers/http-test-sink.js';

const worker = fileURLToPath(new URL('./helpers/outbox-worker.ts', import.meta.url));
const newHome = useTempHomes({ memory: true });
const servers: RecordingHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const routes = { alerts: { notify: [{ sink: 'a' }, { sink: 'b' }], anomaly: { window: 10, minHistory: 5, threshold: 3.5 } } };

/** An outbox of `alerts` alerts, each raised then resolved, to sinks a and b: 4 deliveries an alert. */
async function seed(home: string, alerts: number): Promise<void> {
  const store = await openJsonStore(home);
  const clock = new FakeClock(new Date(Date.now() - 60_000));
  for (let i = 0; i < alerts; i++) {
    for (const kind of ['raised', 'resolved'] as AlertTransition[]) {
      const alert: AlertRecord = { key: `failed-run:rb-${i}`, runbook: `rb-${i}`, rule: 'failed-run', severity: 'critical', message: 'm', firstSeen: clock.now().toISOString(), lastSeen: clock.now().toISOString(), count: 1, status: kind === 'raised' ? 'open' : 'resolved' };
      await store.putAlert(alert, deliveriesFor({ alert, transition: kind, runbook: routes, clock }));
    }
  }
  await store.close();
}

describe('the outbox across processes', () => {
  it('two processes delivering one outbox send each delivery once, in order per alert', async () => {
    const http = await startRecordingHttp();
    servers.push(http);
    const home = await newHome();
    await seed(home, 15);
    const workers = [spawnScript(worker, 'drain', home, http.url, 'one'), spawnScript(worker, 'drain', home, http.url, 'two')];
    await Promise.all(workers.map((w) => w.waitFor((l) => l === 'ready')));
    for (const w of workers) w.child.stdin.write('go\n');
    const ends = await Promise.all(workers.map((w) => w.exited));
    for (const end of ends) expect(end, end.stderr).toMatchObject({ code: 0 });

    const keys = http.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(60);
    expect(new Set(keys).size).toBe(60);
    for (const w of workers) expect(w.lines.some((l) => l.startsWith('delivered'))).toBe(true);
    for (const sink of ['a', 'b']) {
      const seen = received(http.requests, sink);
      for (let i = 0; i < 15; i++) {
        expect(seen.filter((s) => s.includes(`rb-${i} `))).toEqual([`raised failed-run:rb-${i} → 200`, `resolved failed-run:rb-${i} → 200`]);
      }
    }
    const store = await openJsonStore(home);
    expect((await store.listDeliveries()).every((d) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
    await store.close();
  });

  it('a deliverer killed mid-send loses nothing: its claim lapses and another process delivers, in order', async () => {
    const http = await startRecordingHttp();
    servers.push(http);
    const home = await newHome();
    await seed(home, 1);
    // Sink a hangs: the first deliverer is caught with its claim held and nothing recorded.
    http.behave('/a', 'hang');
    const doomed = spawnScript(worker, 'drain', home, http.url, 'doomed', '3000');
    await doomed.waitFor((l) => l === 'ready');
    doomed.child.stdin.write('go\n');
    await http.waitFor((r) => r.pathname === '/a', { timeoutMs: 10_000 });
    doomed.child.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');

    const store = await openJsonStore(home);
    const held = (await store.listDeliveries({ status: 'pending' })).find((d) => d.sink === 'a' && d.transition === 'raised');
    expect(held).toMatchObject({ claimedBy: 'doomed', attempts: 0 });
    await store.close();

    http.behave('/a');
    const heir = spawnScript(worker, 'drain', home, http.url, 'heir', '3000');
    await heir.waitFor((l) => l === 'ready');
    heir.child.stdin.write('go\n');
    const end = await heir.exited;
    expect(end, end.stderr).toMatchObject({ code: 0 });

    // At least once: the raise reached a twice (the killed send, then the heir's), the resolution after it.
    expect(received(http.requests, 'a')).toEqual(['raised failed-run:rb-0 → hang', 'raised failed-run:rb-0 → 200', 'resolved failed-run:rb-0 → 200']);
    const again = await openJsonStore(home);
    const all = await again.listDeliveries();
    await again.close();
    expect(all.map((d) => `${d.sink} ${d.transition} ${d.status}`).sort()).toEqual(['a raised delivered', 'a resolved delivered', 'b raised delivered', 'b resolved delivered']);
    // Both sends of the raise carried the same idempotency key, so the receiving side can drop the repeat.
    const raises = http.requests.filter((r) => r.pathname === '/a' && r.body.includes('"raised"'));
    expect(raises[0]!.headers['idempotency-key']).toBe(raises[1]!.headers['idempotency-key']);
  });
});
