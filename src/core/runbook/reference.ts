/**
 * The runbook reference in the README, rendered from the schema's own
 * descriptions and examples. scripts/gen-runbook-reference.ts writes it between
 * the README markers; a test fails when the README is behind the schema.
 */
import { runbookFields, type FieldDoc } from './fields.js';
import { HOME_VARIABLE } from './location.js';
import { DURATION_UNITS_TEXT, SIZE_UNITS_TEXT } from './units.js';

export const REFERENCE_START = '<!-- runbook-reference:start -->';
export const REFERENCE_END = '<!-- runbook-reference:end -->';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function defaultCell(field: FieldDoc): string {
  if (field.required) return '**required**';
  if (field.default !== undefined) return code(field.default);
  return '—';
}

function table(fields: readonly FieldDoc[]): string[] {
  const rows = ['| field | type | default | description | example |', '|---|---|---|---|---|'];
  for (const f of fields) {
    rows.push(
      `| ${code(f.path)} | ${cell(f.type)} | ${defaultCell(f)} | ${cell(f.description)} | ${f.example === undefined ? '' : cell(code(f.example))} |`,
    );
  }
  return rows;
}

/** A runbook made of every top-level example; the reference test checks it validates. */
export function exampleRunbook(): string {
  return runbookFields()
    .filter((f) => !f.path.includes('.') && !f.path.includes('[') && f.example !== undefined)
    .map((f) => `${f.path}: ${f.example}`)
    .join('\n');
}

export function renderRunbookReference(): string {
  const fields = runbookFields();
  const top = fields.filter((f) => f.path === f.section);
  const out: string[] = [
    '<!-- Generated from src/core/runbook/schema.ts by `npx tsx scripts/gen-runbook-reference.ts`; edit the schema, not this. -->',
    '',
    'A runbook is one YAML file in `runbooks/` (or the folder in `LIFEBOAT_RUNBOOKS`), named after',
    'its `name`: `lifeboat backup app-data` reads `runbooks/app-data.yaml`. Any command also takes a',
    'path to a YAML file instead of a name. Runbooks in subfolders (such as `runbooks/examples/`)',
    'are not picked up by name. A runbook is checked completely when it is loaded; a bad one is',
    'refused with every problem at once, one per line, as `file:line:col: field: what is wrong (expected …)`,',
    'and nothing runs. Unknown fields are errors, so a typo never silently turns a setting off.',
    '',
    '- **Durations**: a whole number and a unit, ' + DURATION_UNITS_TEXT + '. A number without a unit is refused.',
    '- **Sizes and bandwidths**: a number and a unit, ' + SIZE_UNITS_TEXT + '; bandwidths end in `/s` (`50MiB/s`).',
    '- **Percentages**: `0%` to `100%`, fractions allowed (`0.5%`).',
    `- **Paths** (\`sources[].path\`, \`file:\` URLs, key files): absolute, or relative to the runbook's folder. \`${HOME_VARIABLE}\` stands for the state folder (\`LIFEBOAT_HOME\`, default \`./.lifeboat\`); no other variables are expanded, and neither is \`~\`.`,
    '- **Secrets** are never written in a runbook, only referred to: `{ env: NAME }` or `{ file: PATH }`. They are read when used and never printed.',
    '- **Child processes** (hooks, stream sources and their restores, the drill check) see only PATH, HOME, LANG, LC_*, TZ, USER, SHELL, TERM, TMPDIR and LIFEBOAT_RUN_* of Lifeboat\'s environment, plus what the runbook gives them in `env:` (by reference, like secrets); never a repository password or a Slack credential. See "Child processes and secrets".',
    '- **Quote** values that start with `#`, `@`, `*` or `&`, and cron expressions: `slack: "#backups"`, `owner: "@storage-oncall"`.',
    '',
    'A runbook using every section (each value is the example from the tables below):',
    '',
    '```yaml',
    exampleRunbook(),
    '```',
    '',
    '### Top level',
    '',
    ...table(top),
  ];
  for (const section of top) {
    const nested = fields.filter((f) => f.section === section.path && f !== section);
    if (nested.length === 0) continue;
    out.push('', `### \`${section.path}\``, '', section.description, '', ...table(nested));
  }
  return `${out.join('\n')}\n`;
}

/** README text with the reference section replaced; throws when the markers are missing. */
export function replaceReferenceSection(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`README has no ${REFERENCE_START} … ${REFERENCE_END} section`);
  }
  return `${readme.slice(0, start + REFERENCE_START.length)}\n${reference}${readme.slice(end)}`;
}

/** The reference section as it stands in a README, or undefined without markers. */
export function extractReferenceSection(readme: string): string | undefined {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start === -1 || end === -1 || end < start) return undefined;
  return readme.slice(start + REFERENCE_START.length + 1, end);
}
