/**
 * A `--require` preload that counts the process's scrypt calls and how many
 * of them start-up's key prefetch began (prefetchDerivedKey on the stack),
 * printed to stderr at exit as "scrypt calls: N, started ahead: M". ESM named
 * imports of node:crypto see the patched function after syncBuiltinESMExports.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function writeScryptCounter(dir: string): Promise<string> {
  const tracer = join(dir, 'count-scrypt.cjs');
  await writeFile(
    tracer,
    [
      "const crypto = require('node:crypto');",
      'const scrypt = crypto.scrypt;',
      'let calls = 0;',
      'let ahead = 0;',
      "crypto.scrypt = function (...args) { calls++; if (/prefetchDerivedKey/.test(new Error().stack)) ahead++; return scrypt.apply(this, args); };",
      "require('node:module').syncBuiltinESMExports();",
      "process.on('exit', () => process.stderr.write(`scrypt calls: ${calls}, started ahead: ${ahead}\\n`));",
      '',
    ].join('\n'),
  );
  return tracer;
}
