/**
 * `/backup status` with a fleet (issue 19): runbooks of more than one host
 * are grouped under a heading per host (by name, `any host` last) and the
 * count of hosts is said; runbooks of one host (or none named) look as before.
 * The message is checked against a golden file.
 */
import { describe, expect, it } from 'vitest';
import { runbookStatusMessage, type RunbookHealth } from '../../src/slack/blocks/runbooks.js';
import { checkGoldenJson } from './golden.js';

const health = (name: string, host?: string): RunbookHealth => ({
  name,
  state: 'ok',
  facts: [{ label: 'age / RPO', value: 'ok (2h / 26h)' }],
  ...(host === undefined ? {} : { host }),
});

describe('/backup status grouped by host', () => {
  it('groups runbooks of several hosts under a heading each, any host last', () => {
    const message = runbookStatusMessage('/backup status', [health('orders-db', 'web-01'), health('scratch'), health('media', 'db-01'), health('app-data', 'web-01')]);
    expect(message.blocks.map((b) => JSON.stringify(b).match(/\*([^*]+)\*/)?.[1])).toEqual([
      '/backup status',
      'db-01',
      'media',
      'web-01',
      'orders-db',
      'app-data',
      'any host',
      'scratch',
    ]);
    expect(JSON.stringify(message.blocks[0])).toContain('4 runbooks on 3 hosts');
    checkGoldenJson('runbook-status-by-host', message);
  });

  it('is not grouped when every runbook shown has the same host', () => {
    const message = runbookStatusMessage('/backup status', [health('app-data', 'web-01'), health('orders-db', 'web-01')]);
    expect(message.blocks).toHaveLength(3);
    expect(JSON.stringify(message)).not.toContain('web-01');
    expect(JSON.stringify(message.blocks[0])).toContain('— 2 runbooks');
  });

  it('stays within Slack’s block limit with many hosts, saying how many more there are', () => {
    const many = Array.from({ length: 60 }, (_, i) => health(`rb-${String(i).padStart(2, '0')}`, `host-${String(Math.floor(i / 2)).padStart(2, '0')}`));
    const message = runbookStatusMessage('/backup status', many);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    const shown = message.blocks.filter((b) => JSON.stringify(b).includes('*rb-')).length;
    expect(JSON.stringify(message.blocks.at(-1))).toContain(`… and ${60 - shown} more`);
  });
});
