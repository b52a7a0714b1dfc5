import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { checkRunbookText } from '../../../src/core/runbook/load.js';
import { runbookFields } from '../../../src/core/runbook/fields.js';
import {
  exampleRunbook,
  extractReferenceSection,
  renderRunbookReference,
  replaceReferenceSection,
} from '../../../src/core/runbook/reference.js';

const readmePath = fileURLToPath(new URL('../../../README.md', import.meta.url));

describe('runbook reference', () => {
  it('README.md holds the reference the schema generates (run: npx tsx scripts/gen-runbook-reference.ts)', async () => {
    const readme = await readFile(readmePath, 'utf8');
    expect(extractReferenceSection(readme)).toBe(renderRunbookReference());
  });

  it('documents every field with a description and an example', () => {
    const fields = runbookFields();
    expect(fields.length).toBeGreaterThan(50);
    for (const f of fields) {
      expect.soft(f.description, f.path).not.toBe('');
      expect.soft(f.example, f.path).toBeDefined();
    }
  });

  it('covers every top-level section of a runbook, in order', () => {
    const top = runbookFields()
      .filter((f) => f.path === f.section)
      .map((f) => f.path);
    expect(top).toEqual([
      'name',
      'description',
      'owner',
      'host',
      'sources',
      'hooks',
      'repository',
      'schedule',
      'objectives',
      'retention',
      'verify',
      'drill',
      'alerts',
      'access',
      'transfer',
    ]);
  });

  it('shows only examples that the field itself accepts', () => {
    for (const f of runbookFields()) {
      if (f.example === undefined) continue;
      const value: unknown = parse(f.example);
      const result = z.safeParse(f.schema, value);
      expect.soft(result.success, `${f.path}: ${f.example}`).toBe(true);
    }
  });

  it('shows an example runbook that validates', () => {
    const check = checkRunbookText(exampleRunbook(), '/srv/runbooks/app-data.yaml', { runbooksDir: '/srv/runbooks', home: '/srv/state', cwd: '/srv' });
    expect(check.issues).toEqual([]);
  });

  it('replaces only the text between the markers', () => {
    const readme = 'before\n<!-- runbook-reference:start -->\nold\n<!-- runbook-reference:end -->\nafter\n';
    expect(replaceReferenceSection(readme, 'new\n')).toBe(
      'before\n<!-- runbook-reference:start -->\nnew\n<!-- runbook-reference:end -->\nafter\n',
    );
    expect(() => replaceReferenceSection('no markers', 'x')).toThrow(/runbook-reference/);
  });
});
