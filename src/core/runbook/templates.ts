/**
 * The runbooks `lifeboat runbooks new NAME --from KIND` starts from: one per
 * kind of source, commented for someone writing their first runbook, and
 * valid as written (test/core/runbook/templates.test.ts runs each through the
 * loader and the JSON Schema). The repository key is generated under the
 * state folder on first use, so a new runbook runs before anything is set up.
 */
import { parse } from 'yaml';

export const TEMPLATE_KINDS = ['folder', 'postgres', 'mysql', 's3'] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

export interface TemplateInput {
  name: string;
  kind: TemplateKind;
  /** What follows `$schema=` on the first line: the JSON Schema, relative to the new file. */
  schemaRef: string;
}

/** A YAML scalar for `name:`: plain unless YAML would read it as something else (`true`, `null`, `123`). */
function scalar(text: string): string {
  return parse(text) === text ? text : JSON.stringify(text);
}

/** An environment variable name made from the runbook name: `app-data` → APP_DATA_<suffix>. */
function variable(name: string, suffix: string): string {
  const upper = name.toUpperCase().replace(/-/g, '_');
  return `${/^[0-9]/.test(upper) ? '_' : ''}${upper}_${suffix}`;
}

/** A database name made from the runbook name (hyphens are awkward in SQL identifiers). */
const database = (name: string) => name.replace(/-/g, '_');

function header(input: TemplateInput, what: string): string[] {
  return [
    `# yaml-language-server: $schema=${input.schemaRef}`,
    `# ${what}`,
    '#',
    `# Written by \`lifeboat runbooks new ${input.name} --from ${input.kind}\`. Every field is explained in`,
    '# the README (Runbook reference); the schema above gives editors completion and',
    `# checks. Check it with: lifeboat runbooks validate ${input.name}`,
    `name: ${scalar(input.name)}                       # must match the file name`,
    'description: What this protects, in one line',
    'owner: "@your-team"                # who answers for this backup',
    '',
  ];
}

function repository(input: TemplateInput, s3: boolean): string[] {
  const hot = s3
    ? [
        '  hot:',
        `    url: "s3://my-backups/${input.name}"   # bucket/prefix; credentials come from the usual AWS variables or profile`,
        '    region: eu-central-1',
        '    # A self-hosted S3 (MinIO, Ceph…): its endpoint, addressed by path.',
        '    # endpoint: "http://127.0.0.1:9000"',
        '    # pathStyle: true',
      ]
    : [
        '  hot:',
        `    url: "file://\${LIFEBOAT_HOME}/repos/${input.name}"   # or file:///var/backups/${input.name}, or s3://bucket/prefix`,
      ];
  return [
    'repository:',
    ...hot,
    '  # Generated on first use (mode 600). Keep a copy somewhere else: without it',
    '  # the repository cannot be read. Or read it from the environment:',
    `  # password: { env: ${variable(input.name, 'BACKUP_PASSWORD')} }`,
    `  password: { file: "\${LIFEBOAT_HOME}/keys/${input.name}.key", create: true }`,
    '',
  ];
}

function rest(drillCheck: string | undefined, retention: string): string[] {
  return [
    'schedule:                          # run by `lifeboat serve`; leave a job out to run it by hand only',
    '  backup: "0 2 * * *"              # 02:00 every night',
    '  verify: "0 4 * * 0"              # Sundays',
    '  drill: "0 10 * * 1"              # Mondays, office hours',
    '  timezone: UTC',
    '',
    'objectives:',
    '  rpo: 26h                         # alert when the newest backup is older than this',
    '  rto: 15m                         # a restore drill slower than this is an alert',
    '',
    `retention: ${retention}`,
    '',
    'verify: { readData: 5% }           # share of the data read back and checked on each verify',
    '',
    ...(drillCheck !== undefined
      ? ['drill:', `  check: ${JSON.stringify(drillCheck)}   # runs in the restore folder; each source has a folder of its own name`, '']
      : []),
    '# alerts: { slack: "#backups" }    # or notify: [sink names from lifeboat.yaml]',
    '',
  ];
}

function folder(input: TemplateInput, s3: boolean): string {
  return [
    ...header(input, s3 ? 'A folder backed up to S3 (or any S3-compatible store).' : 'A folder backed up into a repository on this machine.'),
    'sources:',
    '  - name: files                    # names the source’s folder in snapshots and restores',
    '    path: /srv/data                # absolute, or relative to this file',
    '    exclude: ["**/*.tmp", "cache/**"]',
    '',
    ...repository(input, s3),
    ...rest('test -d files', '{ daily: 7, weekly: 4, monthly: 12 }'),
  ].join('\n');
}

function postgres(input: TemplateInput): string {
  const db = database(input.name);
  return [
    ...header(input, 'A PostgreSQL database, dumped with pg_dump and restored by drills into a scratch database.'),
    'sources:',
    '  # A stream source: whatever the command writes to stdout is the backup.',
    '  # The custom format is compressed and restores table by table.',
    '  - name: database                 # names the source’s folder in snapshots and restores',
    `    command: pg_dump --host=localhost --username=backup --format=custom --no-owner ${db}`,
    '    # Drills pipe the stream back into this; point it at a scratch database, never production.',
    `    restore: pg_restore --host=localhost --username=backup --clean --if-exists --no-owner --dbname=${db}_drill`,
    '    # Child processes get only a few variables (PATH, HOME, LANG…); pass the rest by reference.',
    `    env: { PGPASSWORD: { env: ${variable(input.name, 'DB_PASSWORD')} } }`,
    '',
    'hooks:',
    '  before: []                       # e.g. ["pg_isready --host=localhost --quiet"]: a failing hook stops the backup',
    '  after: []',
    '',
    ...repository(input, false),
    ...rest(undefined, '{ daily: 14, weekly: 8, monthly: 12 }'),
  ].join('\n');
}

function mysql(input: TemplateInput): string {
  const db = database(input.name);
  return [
    ...header(input, 'A MySQL or MariaDB database, dumped with mysqldump and restored by drills into a scratch database.'),
    'sources:',
    '  # A stream source: whatever the command writes to stdout is the backup.',
    '  # --single-transaction gives a consistent dump of InnoDB tables without locking them.',
    '  - name: database                 # names the source’s folder in snapshots and restores',
    `    command: mysqldump --host=localhost --user=backup --single-transaction --routines --triggers ${db}`,
    '    # Drills pipe the stream back into this; point it at a scratch database, never production.',
    `    restore: mysql --host=localhost --user=backup ${db}_drill`,
    '    # Child processes get only a few variables (PATH, HOME, LANG…); pass the rest by reference.',
    `    env: { MYSQL_PWD: { env: ${variable(input.name, 'DB_PASSWORD')} } }`,
    '',
    ...repository(input, false),
    ...rest(undefined, '{ daily: 14, weekly: 8, monthly: 12 }'),
  ].join('\n');
}

/** The text of a new runbook of `kind`, named `name` (already checked by the caller). */
export function runbookTemplate(input: TemplateInput): string {
  switch (input.kind) {
    case 'folder':
      return folder(input, false);
    case 's3':
      return folder(input, true);
    case 'postgres':
      return postgres(input);
    case 'mysql':
      return mysql(input);
  }
}
