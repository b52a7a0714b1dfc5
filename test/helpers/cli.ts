/**
 * The real CLI (`node bin/lifeboat.js`) as a child process. bin/lifeboat.js runs
 * dist/ when it exists, so dist/ is rebuilt first when any source is newer than
 * it; a lock folder keeps two test files from building at once (and from
 * running the CLI while the other rewrites dist/).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bundle = join(repoRoot, 'dist/lifeboat.js');
const lock = join(repoRoot, 'node_modules/.cache/lifeboat-test-build.lock');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(ts|tsx|mjs|js|json)$/.test(entry.name)) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function isFresh(): boolean {
  let built: number;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  const sources = Math.max(newestMtime(join(repoRoot, 'src')), newestMtime(join(repoRoot, 'commands')), statSync(join(repoRoot, 'scripts/build.mjs')).mtimeMs);
  return built >= sources;
}

/** Build dist/ with `node scripts/build.mjs` unless it is newer than every source. */
export async function ensureCliBuilt(): Promise<void> {
  mkdirSync(join(repoRoot, 'node_modules/.cache'), { recursive: true });
  for (let waited = 0; ; waited += 50) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than a minute was left by a killed run.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 60_000) {
        try {
          rmdirSync(lock);
        } catch {
          // another test file cleared it first
        }
      }
      if (waited > 60_000) throw new Error(`waited a minute for ${lock}`, { cause: e });
      await sleep(50);
    }
  }
  try {
    if (isFresh()) return;
    const res = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`node scripts/build.mjs failed (${res.status}):\n${res.stderr}`);
  } finally {
    rmdirSync(lock);
  }
}

/**
 * What every test child process of Lifeboat gets: cheap repository keys. The
 * engine refuses LIFEBOAT_TEST_SCRYPT_N unless NODE_ENV is `test`, and a child
 * started with an environment of its own does not inherit vitest's NODE_ENV.
 */
export const TEST_KEYS_ENV = { LIFEBOAT_TEST_SCRYPT_N: '1024', NODE_ENV: 'test' } as const;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node bin/lifeboat.js ...args`; `env` is added to a minimal environment. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return runProgram(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), ...args], options);
}

/** Run any program the way runCli runs Lifeboat (a shell around it, the bundle itself): same minimal environment, output collected. */
export function runProgram(command: string, args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A runbook file `<dir>/<name>.yaml` backing up `source` into the folder repository `repo`. */
export function writeRunbook(dir: string, name: string, options: { source: string; repo: string; exclude?: string[] }): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'owner: "@lifeboat-tests"',
      'sources:',
      '  - name: data',
      `    path: ${JSON.stringify(options.source)}`,
      ...(options.exclude ? [`    exclude: ${JSON.stringify(options.exclude)}`] : []),
      'repository:',
      '  hot:',
      `    url: ${JSON.stringify(`file://${options.repo}`)}`,
      '  password: { env: LIFEBOAT_PASSWORD }',
      'schedule:',
      '  backup: "0 * * * *"',
      'objectives: { rpo: 26h, rto: 5m }',
      '',
    ].join('\n'),
  );
  return file;
}
