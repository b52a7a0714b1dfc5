import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Notifier } from '../../src/core/alerts/index.js';
import { FakeClock } from '../../src/core/clock.js';
import type { Runbook } from '../../src/core/runbook/types.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { AlertRecord } from '../../src/core/store/records.js';
import { RunbookCatalog } from '../../src/serve/runbook-catalog.js';
import { writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('catalog', 'each');

async function setup() {
  const dir = await tempDir();
  const runbooksDir = join(dir, 'runbooks');
  await mkdir(runbooksDir);
  const file = writePipelineRunbook(runbooksDir, 'app', { sources: [{ name: 'files', path: dir }], repo: join(dir, 'repo') });
  const store = new MemoryStore();
  const told: { raised: AlertRecord[]; resolved: AlertRecord[] } = { raised: [], resolved: [] };
  const notifier: Notifier = {
    raised: async (a) => void told.raised.push(a),
    resolved: async (a) => void told.resolved.push(a),
  };
  const changes: (readonly Runbook[])[] = [];
  const logs: string[] = [];
  const catalog = new RunbookCatalog({
    locations: { runbooksDir, home: join(dir, 'home'), cwd: dir },
    store: async () => store,
    notifier,
    clock: new FakeClock('2026-11-27T12:00:00Z'),
    onChange: (r) => changes.push(r),
    log: (_level, message) => logs.push(message),
    debounceMs: 20,
  });
  return { dir, runbooksDir, file, store, told, changes, logs, catalog };
}

describe('the runbooks serve keeps', () => {
  it('keeps the last good version of a runbook edited into an invalid state, with an alert naming the problem; fixing it resolves the alert', async () => {
    const t = await setup();
    await t.catalog.reload();
    expect(t.catalog.get('app')?.objectives.rpoMs).toBe(26 * 3_600_000);
    expect(t.changes).toHaveLength(1);

    const good = await readFile(t.file, 'utf8');
    await writeFile(t.file, good.replace('rpo: 26h', 'rpo: soon'));
    const report = await t.catalog.reload();
    expect(report.kept).toEqual(['app']);
    expect(t.catalog.get('app')?.objectives.rpoMs).toBe(26 * 3_600_000);
    const alert = await t.store.getAlert('runbook-invalid:app');
    expect(alert).toMatchObject({ status: 'open', severity: 'warning', rule: 'runbook-invalid' });
    expect(alert?.message).toMatch(/app\.yaml:\d+:\d+: objectives\.rpo/);
    expect(alert?.message).toContain('last good version');
    expect(t.told.raised.map((a) => a.key)).toEqual(['runbook-invalid:app']);

    // Still broken: the alert is updated, nobody is paged twice.
    await t.catalog.reload();
    expect((await t.store.getAlert('runbook-invalid:app'))?.count).toBe(2);
    expect(t.told.raised).toHaveLength(1);

    await writeFile(t.file, good.replace('rpo: 26h', 'rpo: 2h'));
    const fixed = await t.catalog.reload();
    expect(fixed.loaded).toEqual(['app']);
    expect(t.catalog.get('app')?.objectives.rpoMs).toBe(2 * 3_600_000);
    expect((await t.store.getAlert('runbook-invalid:app'))?.status).toBe('resolved');
    expect(t.told.resolved.map((a) => a.key)).toEqual(['runbook-invalid:app']);
    expect(t.changes).toHaveLength(2);
  });

  it('does not put a runbook that never validated into service, and says so critically', async () => {
    const t = await setup();
    await writeFile(join(t.runbooksDir, 'broken.yaml'), 'name: broken\nsources: []\n');
    const report = await t.catalog.reload();
    expect(report.rejected).toEqual(['broken']);
    expect(t.catalog.get('broken')).toBeUndefined();
    expect(await t.store.getAlert('runbook-invalid:broken')).toMatchObject({ severity: 'critical', status: 'open' });
  });

  it('drops a deleted runbook and picks up a new file through the folder watch', async () => {
    const t = await setup();
    await t.catalog.reload();
    t.catalog.watch();
    try {
      writePipelineRunbook(t.runbooksDir, 'second', { sources: [{ name: 'files', path: t.dir }], repo: join(t.dir, 'repo2') });
      await expect.poll(() => t.catalog.get('second')?.name, { timeout: 5000 }).toBe('second');
      await rm(t.file);
      await expect.poll(() => t.catalog.get('app'), { timeout: 5000 }).toBeUndefined();
      expect(t.catalog.current().map((r) => r.name)).toEqual(['second']);
    } finally {
      await t.catalog.close();
    }
  });
});
