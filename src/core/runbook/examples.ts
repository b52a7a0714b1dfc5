/**
 * The example runbooks shipped with Lifeboat (runbooks/examples/ in its
 * installation folder). They are named `examples/NAME` wherever Lifeboat is
 * started from, and they are never live: `runbooks list`, `status` and serve
 * read only the top of the runbooks folder.
 *
 * An example describes someone else's machine (a PostgreSQL server, a bucket,
 * a key file in /etc). Before one runs, its repository password must be
 * readable: otherwise the run would start, run its `before` hooks and end in
 * a failed run and an alert, for a file the operator only wanted to try.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LifeboatError } from '../errors.js';
import { peekSecret, type SecretEnv } from './secrets.js';
import type { Runbook } from './types.js';

export const EXAMPLE_PREFIX = 'examples/';

const exampleName = /^examples\/([a-z0-9]+(?:-[a-z0-9]+)*)$/;

/** `examples/postgres-to-s3` → `postgres-to-s3`; undefined for anything else (names, paths, `examples/x.yaml`). */
export function exampleOf(ref: string): string | undefined {
  return exampleName.exec(ref)?.[1];
}

let installRoot: string | undefined;

/**
 * The folder Lifeboat is installed in: the nearest one up from this module
 * with Lifeboat's package.json (src/core/runbook/ from sources, dist/ when bundled).
 */
export function lifeboatInstallRoot(): string {
  if (installRoot !== undefined) return installRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'lifeboat') return (installRoot = dir);
      } catch {
        // a package.json that is not JSON is not ours; keep looking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new LifeboatError('INTERNAL', `Cannot find Lifeboat's installation folder above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** runbooks/examples/ of this installation. */
export function shippedExamplesDir(): string {
  return path.join(lifeboatInstallRoot(), 'runbooks', 'examples');
}

/** Is `file` one of the shipped examples (however it was named)? */
export function isShippedExample(file: string): boolean {
  const rel = path.relative(shippedExamplesDir(), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Refuses to run a shipped example whose repository password cannot be read
 * here, before anything is recorded or any hook runs (exit 2). A key file the
 * runbook may create (`create: true`) is not missing.
 */
export async function assertExampleCanRun(runbook: Runbook, env: SecretEnv): Promise<void> {
  if (!isShippedExample(runbook.file)) return;
  const ref = runbook.repository.password;
  if (ref.kind === 'file' && ref.create) return;
  if ((await peekSecret(ref, env)) !== undefined) return;
  const missing = ref.kind === 'env' ? `the environment variable ${ref.name} is not set` : `the key file ${ref.path} cannot be read`;
  throw new LifeboatError(
    'USAGE',
    `examples/${runbook.name} is an example written for another machine: its repository password is not available (${missing}), so nothing was run. ` +
      `Start your own from it: lifeboat runbooks new NAME --from ${exampleKind(runbook)}, then edit runbooks/NAME.yaml`,
    { details: { file: runbook.file, password: ref.kind === 'env' ? { env: ref.name } : { file: ref.path } } },
  );
}

/** The `runbooks new --from` kind closest to an example, for the hint. */
function exampleKind(runbook: Runbook): string {
  const commands = runbook.sources.flatMap((s) => (s.kind === 'command' ? [s.command] : []));
  if (commands.some((c) => /\bpg_dump/.test(c))) return 'postgres';
  if (commands.some((c) => /\bmysqldump|\bmariadb-dump/.test(c))) return 'mysql';
  return runbook.repository.hot.url.startsWith('s3://') ? 's3' : 'folder';
}
