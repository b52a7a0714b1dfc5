/**
 * Every invalid runbook fixture with the exact lines an operator sees. A new
 * fixture without an entry here (or an entry without a fixture) fails.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import { formatIssue, loadRunbook, validateRunbookFile } from '../../../src/core/runbook/index.js';

const dir = fileURLToPath(new URL('./fixtures/invalid/', import.meta.url));
const opts = { runbooksDir: dir, home: '/var/lib/lifeboat', cwd: dir };

const expected: Record<string, string[]> = {
  'yaml-syntax': [
    'yaml-syntax.yaml:5:1: YAML syntax error: Sequence item without - indicator',
    'yaml-syntax.yaml:7:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
  ],
  'duplicate-key': ['duplicate-key.yaml:11:3: objectives.rpo: Duplicate key "rpo" (expected each key once in a mapping)'],
  'multiple-documents': [
    'multiple-documents.yaml:5:1: More than one YAML document in the file (expected one runbook per file, no second "---")',
  ],
  empty: ['empty.yaml:1:1: Empty runbook (expected a mapping with at least name, sources, repository and objectives)'],
  'not-a-mapping': ['not-a-mapping.yaml:1:1: Got a list (expected a mapping with at least name, sources, repository and objectives)'],
  'unknown-key': [
    'unknown-key.yaml:5:5: sources[0].excludes: Unknown field (did you mean "exclude"?)',
    'unknown-key.yaml:10:1: retension: Unknown field (did you mean "retention"?)',
    'unknown-key.yaml:11:1: color: Unknown field (expected one of: name, description, owner, host, sources, hooks, repository, schedule, objectives, retention, verify, drill, alerts, access, transfer)',
  ],
  'bad-duration': [
    'bad-duration.yaml:9:8: objectives.rpo: Unknown duration: "5x" (expected e.g. 15m, 26h, 30d)',
    'bad-duration.yaml:10:8: objectives.rto: Duration without a unit: "15" (expected e.g. 15m, 26h, 30d)',
    'bad-duration.yaml:11:19: drill.timeout: Unknown duration: "1.5.h" (expected e.g. 15m, 26h, 30d)',
    'bad-duration.yaml:11:36: drill.announce: Unknown duration: "-1h" (expected e.g. 15m, 26h, 30d)',
  ],
  'bad-cron': [
    'bad-cron.yaml:10:11: schedule.backup: Bad cron expression "0 2": 2 fields (expected 5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *")',
    'bad-cron.yaml:11:11: schedule.verify: Bad cron expression "61 * * * *": Constraint error, got value 61 expected range 0-59 (expected 5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *")',
    'bad-cron.yaml:12:10: schedule.drill: Bad cron expression "every monday": 2 fields (expected 5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *")',
  ],
  'bad-timezone': [
    'bad-timezone.yaml:11:13: schedule.timezone: Unknown time zone: "Europe/Atlantis" (expected an IANA name, e.g. UTC, Europe/Berlin, America/New_York)',
  ],
  'no-sources': ['no-sources.yaml:2:10: sources: No sources (expected at least one, each with a name and a path or a command)'],
  'duplicate-source-names': [
    'duplicate-source-names.yaml:7:11: sources[2].name: Duplicate source name "files", also used by sources[0] (expected each name once)',
  ],
  'path-and-command': [
    'path-and-command.yaml:5:14: sources[0].command: Both "path" and "command" are set (expected one of them: path for files, command for a stream)',
  ],
  'neither-path-nor-command': [
    'neither-path-nor-command.yaml:3:5: sources[0]: Neither "path" nor "command" is set (expected one of them: path for files, command for a stream)',
  ],
  'source-options-mismatch': [
    'source-options-mismatch.yaml:5:14: sources[0].restore: "restore" only applies to a command source (expected it removed; path sources are restored as files)',
    'source-options-mismatch.yaml:8:14: sources[1].exclude: "exclude" only applies to a path source (expected it removed, or "path" instead of "command")',
    'source-options-mismatch.yaml:9:11: sources[2].name: Not a source name: "../escape" (expected letters, digits, ".", "_" and "-", starting with a letter or digit, e.g. orders-db)',
  ],
  'negative-retention': [
    'negative-retention.yaml:11:10: retention.daily: Got -1 (expected an integer ≥ 0, e.g. 7)',
    'negative-retention.yaml:12:11: retention.weekly: Got 2.5 (expected an integer ≥ 0, e.g. 4)',
  ],
  'retention-keeps-nothing': [
    'retention-keeps-nothing.yaml:9:12: retention: Retention keeps nothing (expected at least one of last, hourly, daily, weekly, monthly, yearly above 0, or within)',
  ],
  'unknown-storage-class': [
    'unknown-storage-class.yaml:8:19: repository.hot.storageClass: Unknown value "COLD" (expected one of STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE)',
    'unknown-storage-class.yaml:11:19: repository.cold.storageClass: Unknown value "deep_archive" (expected one of STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE; did you mean DEEP_ARCHIVE?)',
  ],
  'inline-password': [
    'inline-password.yaml:7:13: repository.password: A password must not be written in a runbook (expected a reference: { env: NAME } or { file: PATH })',
  ],
  'password-reference': [
    'password-reference.yaml:7:20: repository.password.env: Not an environment variable name (expected capitals, digits and "_", e.g. LIFEBOAT_PASSWORD)',
    'password-reference.yaml:7:42: repository.password.file: Both "env" and "file" are set (expected one of them)',
    'password-reference.yaml:7:60: repository.password.create: "create" only applies to a key file (expected it removed, or "file" instead of "env")',
    'password-reference.yaml:7:66: repository.password.value: Unknown field (expected one of: env, file, create)',
  ],
  'password-passed-to-children': [
    'password-passed-to-children.yaml:7:20: repository.password.env: LIFEBOAT_RUN_PASSWORD is passed to every hook and command (PATH, HOME, LANG, LC_*, TZ, USER, SHELL, TERM, TMPDIR, LIFEBOAT_RUN_*), so it cannot hold the password (expected another name, e.g. LIFEBOAT_PASSWORD)',
  ],
  'child-env': [
    'child-env.yaml:5:10: sources[0].env: "env" only applies to a command source (expected it removed; a path source starts no process)',
    'child-env.yaml:9:19: sources[1].env.PGPASSWORD: A value must not be written in a runbook (expected a reference: { env: NAME } or { file: PATH })',
    'child-env.yaml:10:23: sources[1].env.SLACKED.env: Slack credentials are Lifeboat’s own and never reach a child process (expected another variable)',
    'child-env.yaml:11:24: sources[1].env.LIFEBOAT_RUN_ID: LIFEBOAT_RUN_ID starts with LIFEBOAT_, which Lifeboat keeps for the facts it passes itself (expected another name)',
    'child-env.yaml:13:29: sources[1].env.BOTH.file: Both "env" and "file" are set (expected one of them)',
    'child-env.yaml:16:22: hooks.env.bad name: Not a variable name: "bad name" (expected letters, digits and "_", e.g. PGPASSWORD)',
    'child-env.yaml:18:15: drill.env.KEY: This is the repository password, which no child process gets (expected another variable or file)',
  ],
  'bad-url': [
    'bad-url.yaml:7:10: repository.hot.url: Unsupported repository URL: "ftp://backups.example.com/x" (expected file:///path, file:relative/path or s3://bucket/prefix)',
    'bad-url.yaml:9:10: repository.cold.url: Bad S3 bucket name "Acme_Archive" (expected 3 to 63 lowercase letters, digits, dots and hyphens: s3://bucket/prefix)',
    'bad-url.yaml:11:12: repository.cold.after: Duration must be more than zero: "0d" (expected e.g. 15m, 26h, 30d)',
  ],
  'file-url-options': [
    'file-url-options.yaml:7:10: repository.hot.url: A file:// URL names a host here: "file://backups/x" (expected file:///absolute/path or file:relative/path)',
    'file-url-options.yaml:12:15: repository.cold.endpoint: "endpoint" only applies to s3:// repositories (expected it removed, or an s3:// url)',
  ],
  'bad-paths': [
    'bad-paths.yaml:4:11: sources[0].path: "~" is not expanded (expected an absolute path, a path relative to the runbook, or ${LIFEBOAT_HOME}/…)',
    'bad-paths.yaml:6:11: sources[1].path: Unknown variable "${HOME}" (expected only ${LIFEBOAT_HOME})',
    'bad-paths.yaml:8:15: repository.hot.url: Unknown variable "${STATE}" (expected only ${LIFEBOAT_HOME})',
    'bad-paths.yaml:9:21: repository.password.file: Empty path (expected an absolute path, a path relative to the runbook, or ${LIFEBOAT_HOME}/…)',
  ],
  'concurrency-zero': [
    'concurrency-zero.yaml:10:16: transfer.concurrency: Got 0 (expected an integer 1–64, e.g. 8)',
    'concurrency-zero.yaml:11:14: transfer.bandwidth: Bandwidth without "/s": "50MiB" (expected e.g. 50MiB/s, 10MB/s)',
  ],
  'read-data-over-100': ['read-data-over-100.yaml:9:21: verify.readData: Percentage over 100%: "150%" (expected 0% to 100%)'],
  'missing-objectives': [
    'missing-objectives.yaml:1:1: objectives: Missing required field (expected a mapping, e.g. { rpo: 26h, rto: 15m })',
    'missing-objectives.yaml:5:1: repository.password: Missing required field (expected a secret reference, e.g. { env: LIFEBOAT_PASSWORD })',
  ],
  'name-not-kebab': [
    'name-not-kebab.yaml:1:7: name: Not a kebab-case name: "App_Data" (expected lowercase letters, digits and single hyphens, e.g. app-data)',
  ],
  'name-mismatch': [
    'name-mismatch.yaml:1:7: name: Name "app-data" does not match the file name name-mismatch.yaml (expected name: name-mismatch, or the file renamed)',
  ],
  'unquoted-channel': [
    'unquoted-channel.yaml:10:3: alerts.slack: Empty value; an unquoted # starts a YAML comment (expected a channel, e.g. "#backups")',
    'unquoted-channel.yaml:12:12: access.backup[0]: Not a Slack user or group: "bob" (expected a user id like U0123ABC or a handle like @storage-oncall)',
  ],
  'wrong-types': [
    'wrong-types.yaml:3:3: sources: Got a mapping (expected a list of sources, e.g. [{ name: uploads, path: /srv/uploads }])',
    'wrong-types.yaml:6:11: hooks.before: Got "sync" (expected a list of commands, e.g. ["sync"])',
    'wrong-types.yaml:8:49: repository.hot.pathStyle: Got "yes" (expected a boolean, e.g. true)',
    'wrong-types.yaml:10:13: objectives: Got a list (expected a mapping, e.g. { rpo: 26h, rto: 15m })',
  ],
  'tier-without-cold': [
    'tier-without-cold.yaml:9:19: schedule.tier: A tier schedule without a cold repository (expected repository.cold, or no schedule.tier)',
    'tier-without-cold.yaml:11:37: alerts.anomaly.minHistory: minHistory 8 is larger than window 5 (expected at most the window, or the rule never fires)',
    'tier-without-cold.yaml:11:51: alerts.anomaly.threshold: Got 0 (expected a number > 0, e.g. 4)',
  ],
};

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

describe('invalid runbooks', () => {
  it('has an expectation for every fixture, and a fixture for every expectation', () => {
    expect(fixtures).toEqual(Object.keys(expected).sort());
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
  });

  it.each(fixtures)('%s.yaml is refused with its exact messages', async (name) => {
    const check = await validateRunbookFile(path.join(dir, `${name}.yaml`), opts);
    expect(check.runbook).toBeUndefined();
    expect(check.issues.map(formatIssue)).toEqual(expected[name]);
  });

  it('refuses through loadRunbook with every line in the message and the issues in details', async () => {
    const err = await loadRunbook('bad-duration', opts).catch((e: unknown) => e);
    expect(isLifeboatError(err, 'RUNBOOK_INVALID')).toBe(true);
    const e = err as Error & { exitCode: number; details: { issues: unknown[]; file: string } };
    expect(e.message).toBe(expected['bad-duration']?.join('\n'));
    expect(e.exitCode).toBe(2);
    expect(e.details.file).toBe(path.join(dir, 'bad-duration.yaml'));
    expect(e.details.issues).toEqual([
      { file: 'bad-duration.yaml', line: 9, col: 8, path: 'objectives.rpo', message: 'Unknown duration: "5x" (expected e.g. 15m, 26h, 30d)' },
      { file: 'bad-duration.yaml', line: 10, col: 8, path: 'objectives.rto', message: 'Duration without a unit: "15" (expected e.g. 15m, 26h, 30d)' },
      { file: 'bad-duration.yaml', line: 11, col: 19, path: 'drill.timeout', message: 'Unknown duration: "1.5.h" (expected e.g. 15m, 26h, 30d)' },
      { file: 'bad-duration.yaml', line: 11, col: 36, path: 'drill.announce', message: 'Unknown duration: "-1h" (expected e.g. 15m, 26h, 30d)' },
    ]);
  });

  it('never repeats a written password or a misplaced secret in its messages', async () => {
    for (const name of ['inline-password', 'password-reference', 'child-env']) {
      const check = await validateRunbookFile(path.join(dir, `${name}.yaml`), opts);
      const text = check.issues.map(formatIssue).join('\n');
      expect(text).not.toContain('correct horse');
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('s3cret');
    }
  });

  it('names files by absolute path when they are outside the working folder', async () => {
    const check = await validateRunbookFile(path.join(dir, 'no-sources.yaml'), { ...opts, cwd: '/somewhere/else' });
    expect(check.issues.map(formatIssue)).toEqual([
      `${path.join(dir, 'no-sources.yaml')}:2:10: sources: No sources (expected at least one, each with a name and a path or a command)`,
    ]);
  });
});
