import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import {
  checkRunbookText,
  formatIssue,
  isRunbookPath,
  listRunbooks,
  loadRunbook,
  validateRunbookFile,
  type Runbook,
} from '../../../src/core/runbook/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const realOpts = { runbooksDir: 'runbooks', home: '.lifeboat', cwd: repoRoot };

const minimal = (name: string, extra = '') => `name: ${name}
sources:
  - name: files
    path: data
repository:
  hot: { url: "file:repo" }
  password: { file: keys/${name}.key }
objectives: { rpo: 26h, rto: 15m }
${extra}`;

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-runbook-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the demo runbook', () => {
  it('loads by name, fully resolved', async () => {
    const rb = await loadRunbook('demo', realOpts);
    const home = path.join(repoRoot, '.lifeboat');
    expect(rb).toEqual({
      name: 'demo',
      description: 'Sample application data shipped with Lifeboat',
      owner: '@storage-oncall',
      file: path.join(repoRoot, 'runbooks', 'demo.yaml'),
      sources: [
        { kind: 'path', name: 'sample', path: path.join(repoRoot, 'runbooks', 'demo-data'), exclude: ['**/*.tmp', '**/.DS_Store'] },
      ],
      hooks: { before: [], after: [] },
      repository: {
        hot: { url: pathToFileURL(path.join(home, 'repos', 'demo')).href },
        password: { kind: 'file', path: path.join(home, 'keys', 'demo.key'), create: true },
      },
      schedule: { backup: '0 * * * *', drill: '0 10 * * 1', timezone: 'UTC' },
      objectives: { rpoMs: 26 * 3_600_000, rtoMs: 5 * 60_000 },
      retention: { last: 5, daily: 7 },
      verify: { readDataFraction: 0.1 },
      drill: { check: 'test -s sample/index.json', announceMs: 5 * 60_000, timeoutMs: 10 * 60_000 },
      alerts: { slack: '#backups', anomaly: { window: 10, minHistory: 5, threshold: 3.5 } },
      access: { backup: ['@storage-oncall'], drill: ['@storage-oncall', 'U0123ABC'] },
      transfer: { concurrency: 4 },
    } satisfies Runbook);
  });

  it('loads by path too, relative to the working folder', async () => {
    const rb = await loadRunbook('runbooks/demo.yaml', realOpts);
    expect(rb.name).toBe('demo');
  });

  it('is the only live runbook: examples in subfolders are not listed', async () => {
    const list = await listRunbooks(realOpts);
    expect(list.map((e) => [e.name, e.issues.map(formatIssue)])).toEqual([['demo', []]]);
  });

  it.each(['postgres-to-s3', 'cold-tier'])('example %s validates', async (name) => {
    const check = await validateRunbookFile(`runbooks/examples/${name}.yaml`, realOpts);
    expect(check.issues.map(formatIssue)).toEqual([]);
    expect(check.runbook?.name).toBe(name);
  });

  it('example postgres-to-s3 is a stream source to S3 with the password from the environment', async () => {
    const rb = await loadRunbook('runbooks/examples/postgres-to-s3.yaml', realOpts);
    expect(rb.sources[0]).toMatchObject({ kind: 'command', name: 'orders-db', restore: expect.stringContaining('pg_restore') });
    expect(rb.repository.hot).toMatchObject({ url: 's3://acme-backups/postgres/orders', pathStyle: true, endpoint: 'http://minio.internal:9000' });
    expect(rb.repository.password).toEqual({ kind: 'env', name: 'ORDERS_BACKUP_PASSWORD' });
    expect(rb.transfer).toEqual({ concurrency: 8, bandwidthBytesPerSec: 50 * 1024 * 1024 });
  });

  it('example cold-tier moves snapshots to DEEP_ARCHIVE after 30 days', async () => {
    const rb = await loadRunbook('runbooks/examples/cold-tier.yaml', realOpts);
    expect(rb.repository.cold).toEqual({
      url: 's3://acme-archive/documents',
      storageClass: 'DEEP_ARCHIVE',
      afterMs: 30 * 86_400_000,
      retrieval: 'Bulk',
      thawDays: 2,
      region: 'eu-central-1',
    });
  });
});

describe('resolution', () => {
  it('resolves relative paths against the runbook folder, not the working folder', async () => {
    const dir = path.join(tmp, 'books');
    await mkdir(dir);
    await writeFile(path.join(dir, 'app.yaml'), minimal('app'));
    const rb = await loadRunbook('books/app.yaml', { runbooksDir: 'elsewhere', home: 'state', cwd: tmp });
    expect(rb.file).toBe(path.join(dir, 'app.yaml'));
    expect(rb.sources[0]).toEqual({ kind: 'path', name: 'files', path: path.join(dir, 'data'), exclude: [] });
    expect(rb.repository.hot.url).toBe(pathToFileURL(path.join(dir, 'repo')).href);
    expect(rb.repository.password).toEqual({ kind: 'file', path: path.join(dir, 'keys', 'app.key'), create: false });
  });

  it('expands ${LIFEBOAT_HOME} to the state folder, resolved against the working folder', async () => {
    await writeFile(
      path.join(tmp, 'home.yaml'),
      `name: home
sources:
  - { name: files, path: "\${LIFEBOAT_HOME}/inbox" }
repository:
  hot: { url: "file://\${LIFEBOAT_HOME}/repos/home" }
  cold: { url: "file:\${LIFEBOAT_HOME}/cold", storageClass: GLACIER, after: 30d }
  password: { file: "\${LIFEBOAT_HOME}/keys/home.key", create: true }
objectives: { rpo: 1d, rto: 1h }
`,
    );
    const rb = await loadRunbook('home.yaml', { runbooksDir: '.', home: 'my state', cwd: tmp });
    const home = path.join(tmp, 'my state');
    expect(rb.sources[0]).toMatchObject({ path: path.join(home, 'inbox') });
    expect(rb.repository.hot.url).toBe(pathToFileURL(path.join(home, 'repos', 'home')).href);
    expect(fileURLToPath(rb.repository.hot.url)).toBe(path.join(home, 'repos', 'home'));
    expect(fileURLToPath(rb.repository.cold?.url ?? '')).toBe(path.join(home, 'cold'));
    expect(rb.repository.password).toEqual({ kind: 'file', path: path.join(home, 'keys', 'home.key'), create: true });
  });

  it('reads file:/// URLs as URLs (percent-escapes) and canonicalizes s3 URLs', () => {
    const text = minimal('urls').replace('"file:repo"', '"s3://bucket.example/some/prefix/"');
    const rb = checkRunbookText(text, path.join(tmp, 'urls.yaml'), { runbooksDir: tmp, home: tmp, cwd: tmp }).runbook;
    expect(rb?.repository.hot.url).toBe('s3://bucket.example/some/prefix');
    const spaced = checkRunbookText(minimal('spaced').replace('"file:repo"', '"file:///srv/my%20backups"'), path.join(tmp, 'spaced.yaml'), {
      runbooksDir: tmp,
      home: tmp,
      cwd: tmp,
    }).runbook;
    expect(fileURLToPath(spaced?.repository.hot.url ?? '')).toBe('/srv/my backups');
  });

  it('fills in every default of a minimal runbook', () => {
    const rb = checkRunbookText(minimal('mini'), path.join(tmp, 'mini.yaml'), { runbooksDir: tmp, home: tmp, cwd: tmp }).runbook;
    expect(rb).toBeDefined();
    expect(rb?.hooks).toEqual({ before: [], after: [] });
    expect(rb?.verify).toEqual({ readDataFraction: 0 });
    expect(rb?.drill).toEqual({ timeoutMs: 600_000 });
    expect(rb?.alerts).toEqual({ anomaly: { window: 10, minHistory: 5, threshold: 3.5 } });
    expect(rb?.access).toEqual({ backup: [], drill: [] });
    expect(rb?.transfer).toEqual({ concurrency: 4 });
    expect(rb?.schedule).toBeUndefined();
    expect(rb?.retention).toBeUndefined();
    expect(rb?.repository.cold).toBeUndefined();
    expect(Object.keys(rb ?? {})).not.toContain('description');
  });

  it('gives an empty schedule the UTC time zone', () => {
    const rb = checkRunbookText(minimal('tz', 'schedule: {}\n'), path.join(tmp, 'tz.yaml'), { runbooksDir: tmp, home: tmp, cwd: tmp }).runbook;
    expect(rb?.schedule).toEqual({ timezone: 'UTC' });
  });

  it('produces a deeply frozen runbook', async () => {
    const rb = await loadRunbook('demo', realOpts);
    expect(Object.isFrozen(rb)).toBe(true);
    expect(Object.isFrozen(rb.sources)).toBe(true);
    expect(Object.isFrozen(rb.sources[0])).toBe(true);
    expect(Object.isFrozen(rb.repository.hot)).toBe(true);
    expect(Object.isFrozen(rb.repository.password)).toBe(true);
    expect(Object.isFrozen(rb.alerts.anomaly)).toBe(true);
    expect(Object.isFrozen(rb.access.drill)).toBe(true);
    expect(() => {
      (rb as { name: string }).name = 'other';
    }).toThrow(TypeError);
    expect(() => {
      (rb.access.drill as string[]).push('U999999');
    }).toThrow(TypeError);
  });
});

describe('finding runbooks', () => {
  it('tells names from paths', () => {
    expect(isRunbookPath('demo')).toBe(false);
    expect(isRunbookPath('app-data')).toBe(false);
    expect(isRunbookPath('demo.yaml')).toBe(true);
    expect(isRunbookPath('demo.yml')).toBe(true);
    expect(isRunbookPath('./demo')).toBe(true);
    expect(isRunbookPath('/etc/lifeboat/demo')).toBe(true);
  });

  it('finds .yml files by name', async () => {
    await writeFile(path.join(tmp, 'short.yml'), minimal('short'));
    const rb = await loadRunbook('short', { runbooksDir: tmp, home: tmp, cwd: '/' });
    expect(rb.file).toBe(path.join(tmp, 'short.yml'));
  });

  it('refuses an unknown name, listing the names there are', async () => {
    await writeFile(path.join(tmp, 'b.yaml'), minimal('b'));
    await writeFile(path.join(tmp, 'a.yml'), minimal('a'));
    await writeFile(path.join(tmp, 'notes.txt'), 'not a runbook');
    const err = await loadRunbook('c', { runbooksDir: 'rb', home: tmp, cwd: tmp }).catch((e: unknown) => e);
    expect(isLifeboatError(err, 'RUNBOOK_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toBe('No runbook named "c" in rb (there are none)');
    const err2 = await loadRunbook('c', { runbooksDir: '.', home: tmp, cwd: tmp }).catch((e: unknown) => e);
    expect((err2 as Error).message).toBe(`No runbook named "c" in ${tmp} (available: a, b)`);
    expect((err2 as { details: { available: string[] } }).details.available).toEqual(['a', 'b']);
  });

  it('refuses a missing file with RUNBOOK_NOT_FOUND', async () => {
    const err = await loadRunbook('missing/app.yaml', { runbooksDir: tmp, home: tmp, cwd: tmp }).catch((e: unknown) => e);
    expect(isLifeboatError(err, 'RUNBOOK_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toBe('Runbook file not found: missing/app.yaml');
    const dirErr = await validateRunbookFile(tmp, { runbooksDir: tmp, home: tmp, cwd: '/' }).catch((e: unknown) => e);
    expect(isLifeboatError(dirErr, 'RUNBOOK_NOT_FOUND')).toBe(true);
  });

  it('lists every runbook sorted by name, valid or not, and flags two files with one name', async () => {
    await writeFile(path.join(tmp, 'zeta.yaml'), minimal('zeta'));
    await writeFile(path.join(tmp, 'alpha.yaml'), minimal('alpha', 'transfer: { concurrency: 0 }\n'));
    await writeFile(path.join(tmp, 'twin.yaml'), minimal('twin'));
    await writeFile(path.join(tmp, 'twin.yml'), minimal('twin'));
    await writeFile(path.join(tmp, '.hidden.yaml'), minimal('hidden'));
    await mkdir(path.join(tmp, 'examples'));
    await writeFile(path.join(tmp, 'examples', 'nested.yaml'), minimal('nested'));
    const list = await listRunbooks({ runbooksDir: '.', home: tmp, cwd: tmp });
    expect(list.map((e) => [e.name, path.basename(e.file), e.runbook !== undefined, e.issues.map(formatIssue)])).toEqual([
      ['alpha', 'alpha.yaml', false, ['alpha.yaml:9:26: transfer.concurrency: Got 0 (expected an integer 1–64, e.g. 8)']],
      ['twin', 'twin.yaml', false, ['twin.yaml:1:1: Runbook "twin" is also defined by twin.yml (expected one file per name)']],
      ['twin', 'twin.yml', false, ['twin.yml:1:1: Runbook "twin" is also defined by twin.yaml (expected one file per name)']],
      ['zeta', 'zeta.yaml', true, []],
    ]);
    const err = await loadRunbook('twin', { runbooksDir: '.', home: tmp, cwd: tmp }).catch((e: unknown) => e);
    expect(isLifeboatError(err, 'RUNBOOK_INVALID')).toBe(true);
    expect((err as Error).message).toBe('Runbook "twin" is defined twice: twin.yaml and twin.yml (expected one file per name)');
  });

  it('lists nothing for a folder that does not exist', async () => {
    expect(await listRunbooks({ runbooksDir: 'nope', home: tmp, cwd: tmp })).toEqual([]);
  });
});
