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
    'A runbook is one YAML file in the runbooks folder (`./runbooks`, or `runbooks:` in lifeboat.yaml,',
    'or `LIFEBOAT_RUNBOOKS`), named after its `name`: `lifeboat backup app-data` reads',
    '`runbooks/app-data.yaml`. Any command also takes a path to a YAML file instead of a name, or',
    '`examples/NAME` for an example shipped with Lifeboat (`runbooks/examples/` of its installation,',
    'wherever Lifeboat is started from). Examples and other runbooks in subfolders are never live',
    '(`runbooks list`, `status` and serve read only the top of the folder), and an example runs only',
    'where its repository password is available: elsewhere it is refused before its hooks run.',
    '`lifeboat runbooks new NAME [--from folder|postgres|mysql|s3]` writes a commented, valid',
    'runbook to start from. A runbook is checked completely when it is loaded; a bad one is',
    'refused with every problem at once, one per line, as `file:line:col: field: what is wrong (expected …)`,',
    'and nothing runs. Unknown fields are errors, so a typo never silently turns a setting off.',
    '',
    '- **Durations**: a whole number and a unit, ' + DURATION_UNITS_TEXT + '. A number without a unit is refused.',
    '- **Sizes and bandwidths**: a number and a unit, ' + SIZE_UNITS_TEXT + '; bandwidths end in `/s` (`50MiB/s`).',
    '- **Percentages**: `0%` to `100%`, fractions allowed (`0.5%`).',
    `- **Paths** (\`sources[].path\`, \`file:\` URLs, key files): absolute, or relative to the runbook's folder. \`${HOME_VARIABLE}\` stands for the state folder (\`LIFEBOAT_HOME\`, else \`home:\` in lifeboat.yaml, else \`./.lifeboat\`); no other variables are expanded, and neither is \`~\`.`,
    '- **Secrets** are never written in a runbook, only referred to: `{ env: NAME }` or `{ file: PATH }`. They are read when used and never printed.',
    '- **Child processes** (hooks, stream sources and their restores, the drill check) see only PATH, HOME, LANG, LC_*, TZ, USER, SHELL, TERM, TMPDIR and LIFEBOAT_RUN_* of Lifeboat\'s environment, plus what the runbook gives them in `env:` (by reference, like secrets); never a repository password or a Slack credential. See "Child processes and secrets".',
    '- **Quote** values that start with `#`, `@`, `*` or `&`, and cron expressions: `slack: "#backups"`, `owner: "@storage-oncall"`.',
    '- **Editors**: `schema/runbook.schema.json` is this format as a JSON Schema (draft-07, generated from the same schema by `npm run schema`). Editors with yaml-language-server (VS Code\'s YAML extension, Neovim, Helix…) complete and check a runbook whose first line names it: `# yaml-language-server: $schema=../schema/runbook.schema.json` (relative to the runbook, as `runbooks new` writes it). The editor is a hint; `lifeboat runbooks validate` is the judge (cron expressions, units and cross-field rules are checked only there).',
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
