#!/bin/sh
':' //; export GLIBC_TUNABLES="glibc.malloc.hugetlb=1${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"; exec node "$0" "$@"
// Run as a program (`lifeboat` on PATH, the systemd units, npm start, the
// bench), the two lines above are shell: they start node on this file with
// glibc's malloc asked to back its large allocations with transparent huge
// pages, ahead of any tunables of the caller's own (later ones win:
// glibc.malloc.hugetlb=0 turns it off). Node reads them as a hashbang and a
// string, so `node bin/lifeboat.js` runs the same code, without the tunable.
// Why: the key's scrypt allocates 64 MiB, in 4 KiB pages ~16,000 faults of
// fresh zeroed pages (~0.42 s against ~0.24 s in huge pages here), on the
// critical path of a no-change backup (0.95-1.07 s -> 0.79-0.86 s);
// restic's Go heap gets huge pages the same way (docs/performance.md, twelfth stop).
// Runs the bundled build (dist/, made by `npm run build`, which `npm start` and
// `npm ci` run); from a checkout without a build, runs the sources through tsx.
//
// Help and the version are answered from dist/help.json, rendered by the build
// from the command specs, before the CLI is loaded: `lifeboat --help` then
// starts about as fast as node itself (issue 22). Anything else — or a topic
// the file does not know — goes to the CLI, which renders the same texts.
// Before loading it, a command that will open a repository key gets the key's
// derivation started (startKeyDerivation).
import { existsSync, readFileSync } from 'node:fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const bundle = new URL('../dist/lifeboat.js', import.meta.url);
const helpFile = new URL('../dist/help.json', import.meta.url);
const helpReader = new URL('../dist/help-request.js', import.meta.url);
const keyRequestFile = new URL('../dist/key-request.js', import.meta.url);
const keyPrefetchFile = new URL('../dist/key-prefetch.js', import.meta.url);

async function prerenderedHelp() {
  if (!existsSync(bundle) || !existsSync(helpFile) || !existsSync(helpReader)) return undefined;
  try {
    const { answerFromTexts, helpRequest } = await import(helpReader.href);
    // Most command lines ask for no help: they need not read and parse the texts (~50 KB).
    if (helpRequest(process.argv.slice(2)) === undefined) return undefined;
    return answerFromTexts(JSON.parse(readFileSync(helpFile, 'utf8')), process.argv.slice(2));
  } catch {
    return undefined; // a damaged help file: the CLI renders help itself
  }
}

/**
 * A command that opens its runbook's repository key (ls, restore, …): start
 * the key's scrypt now, on the thread pool, so the ~0.3-0.6 s derivation
 * overlaps loading the CLI (src/core/repo/prefetch-repository-key.ts). Only
 * the start is awaited (reading the runbook, the keys folder and a key file;
 * the derivation itself is not): left running, those reads' callbacks waited
 * behind the CLI bundle's compile and evaluation on this thread, and scrypt,
 * the start-up's critical path, began ~30-40 ms later. A missing or failing
 * piece just means no head start.
 */
async function startKeyDerivation() {
  if (!existsSync(keyRequestFile) || !existsSync(keyPrefetchFile)) return;
  try {
    const { keyRequest } = await import(keyRequestFile.href);
    const runbook = keyRequest(process.argv.slice(2));
    if (runbook === undefined) return;
    const { prefetchRepositoryKey } = await import(keyPrefetchFile.href);
    await prefetchRepositoryKey(runbook, { cwd: process.cwd(), env: process.env });
  } catch {
    // The CLI opens the key itself, as it always could.
  }
}

const help = await prerenderedHelp();
if (help !== undefined) {
  // `lifeboat --help | head -1`: a closed pipe is no error worth a stack trace.
  process.stdout.on('error', () => undefined);
  process.stdout.write(help);
} else if (existsSync(bundle)) {
  await startKeyDerivation();
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/entry.ts', import.meta.url).href);
}
