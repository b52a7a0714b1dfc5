/** Where a new runbook's first line points editors: near → relative, far → absolute, a space → a file: URL. */
import { describe, expect, it } from 'vitest';
import { schemaReference } from '../../../src/core/runbook/new-runbook.js';

describe('the schema line of a new runbook', () => {
  it('is relative when the schema is close, as in a checkout', () => {
    expect(schemaReference('/home/ann/lifeboat/runbooks', '/home/ann/lifeboat/schema/runbook.schema.json')).toBe('../schema/runbook.schema.json');
    expect(schemaReference('/srv/ops/runbooks', '/srv/lifeboat/schema/runbook.schema.json')).toBe('../../lifeboat/schema/runbook.schema.json');
  });

  it('is absolute when the runbooks live far from the installation', () => {
    expect(schemaReference('/etc/lifeboat/runbooks', '/opt/lifeboat/schema/runbook.schema.json')).toBe('/opt/lifeboat/schema/runbook.schema.json');
  });

  it('is a file: URL when the path has a space (editors read up to the first one)', () => {
    expect(schemaReference('/etc/lifeboat/runbooks', '/opt/life boat/schema/runbook.schema.json')).toBe('file:///opt/life%20boat/schema/runbook.schema.json');
    expect(schemaReference('/home/ann/my stuff/runbooks', '/home/ann/my stuff/schema/runbook.schema.json')).toBe('../schema/runbook.schema.json');
  });
});
