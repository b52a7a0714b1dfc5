/**
 * Writes the runbook reference (rendered from the schema) into README.md between
 * the runbook-reference markers, touching nothing else.
 *
 *   npx tsx scripts/gen-runbook-reference.ts           update README.md
 *   npx tsx scripts/gen-runbook-reference.ts --check   exit 1 if README.md is stale
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderRunbookReference, replaceReferenceSection } from '../src/core/runbook/reference.js';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const check = process.argv.includes('--check');

const readme = await readFile(readmePath, 'utf8');
const updated = replaceReferenceSection(readme, renderRunbookReference());

if (updated === readme) {
  console.log('README.md runbook reference is up to date');
} else if (check) {
  console.error('README.md runbook reference is stale: run npx tsx scripts/gen-runbook-reference.ts');
  process.exitCode = 1;
} else {
  await writeFile(readmePath, updated);
  console.log('README.md runbook reference updated');
}
