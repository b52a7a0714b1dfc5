/**
 * schema/runbook.schema.json, the runbook format for editors: it is what the
 * generator makes from the zod schema now (so it cannot drift from the
 * loader), and every runbook Lifeboat ships or writes conforms to it, as it
 * conforms to the loader.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runbookJsonSchemaText } from '../../../src/core/runbook/json-schema.js';
import { checkRunbookText, formatIssue, runbookJsonSchemaFile, TEMPLATE_KINDS } from '../../../src/core/runbook/index.js';
import { runbookTemplate } from '../../../src/core/runbook/templates.js';
import { schemaProblems } from './json-schema-check.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const committed = readFileSync(path.join(repoRoot, 'schema/runbook.schema.json'), 'utf8');
const schema = JSON.parse(committed) as Record<string, unknown>;
const locations = { runbooksDir: 'runbooks', home: '.lifeboat', cwd: repoRoot };

const yamlFiles = (dir: string) =>
  readdirSync(path.join(repoRoot, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join(repoRoot, dir, f));
const shipped = [...yamlFiles('runbooks'), ...yamlFiles('runbooks/examples')];

describe('the runbook JSON Schema', () => {
  it('is the file `npm run schema` writes from the zod schema now (run it after changing src/core/runbook/schema.ts)', () => {
    expect(committed).toBe(runbookJsonSchemaText());
  });

  it('is the file runbooks new points editors at, a draft-07 schema', () => {
    expect(runbookJsonSchemaFile()).toBe(path.join(repoRoot, 'schema/runbook.schema.json'));
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'sources', 'repository', 'objectives']));
  });

  it.each(shipped.map((f) => [path.relative(repoRoot, f), f]))('accepts the shipped runbook %s, as the loader does', (_shown, file) => {
    const text = readFileSync(file, 'utf8');
    expect(checkRunbookText(text, file, locations).issues.map(formatIssue)).toEqual([]);
    expect(schemaProblems(schema, parse(text))).toEqual([]);
  });

  it.each(TEMPLATE_KINDS)('accepts what `runbooks new --from %s` writes, as the loader does', (kind) => {
    const file = path.join(repoRoot, 'runbooks', 'app-data.yaml');
    const text = runbookTemplate({ name: 'app-data', kind, schemaRef: '../schema/runbook.schema.json' });
    expect(checkRunbookText(text, file, locations).issues.map(formatIssue)).toEqual([]);
    expect(schemaProblems(schema, parse(text))).toEqual([]);
  });

  it('refuses what the loader refuses where JSON Schema can say it: unknown fields, written secrets, bad names, wrong types', () => {
    const base = parse(readFileSync(path.join(repoRoot, 'runbooks/demo.yaml'), 'utf8')) as Record<string, unknown>;
    const repository = base.repository as Record<string, unknown>;
    expect(schemaProblems(schema, { ...base, retension: { daily: 7 } })).toEqual(['$.retension: not allowed']);
    expect(schemaProblems(schema, { ...base, repository: { ...repository, password: 'hunter2' } })).toEqual(['$.repository.password: is string, expected object']);
    expect(schemaProblems(schema, { ...base, name: 'App_Data' })).toEqual([expect.stringMatching(/^\$\.name: does not match/)]);
    expect(schemaProblems(schema, { ...base, repository: { ...repository, hot: { url: 'file:repo', storageClass: 'COLD' } } })).toEqual([
      expect.stringMatching(/^\$\.repository\.hot\.storageClass: "COLD" is not one of/),
    ]);
    expect(schemaProblems(schema, { ...base, sources: [] })).toEqual(['$.sources: fewer than 1 items']);
    // A route is a sink name or { sink, severity }; a number is neither.
    expect(schemaProblems(schema, { ...base, alerts: { notify: ['pager', { sink: 'mail', severity: 'warning' }] } })).toEqual([]);
    expect(schemaProblems(schema, { ...base, alerts: { notify: [42] } })).toEqual([expect.stringMatching(/^\$\.alerts\.notify\[0\]: matches no branch/)]);
  });
});
