/**
 * Writes the runbook JSON Schema for editors (generated from the zod schema by
 * src/core/runbook/json-schema.ts) to schema/runbook.schema.json.
 *
 *   npm run schema                              update the file
 *   npx tsx scripts/gen-runbook-schema.ts --check   exit 1 if it is stale
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runbookJsonSchemaText } from '../src/core/runbook/json-schema.js';

const schemaFile = fileURLToPath(new URL('../schema/runbook.schema.json', import.meta.url));
const check = process.argv.includes('--check');

const current = await readFile(schemaFile, 'utf8').catch(() => undefined);
const generated = runbookJsonSchemaText();

if (current === generated) {
  console.log('schema/runbook.schema.json is up to date');
} else if (check) {
  console.error('schema/runbook.schema.json is stale: run npm run schema');
  process.exitCode = 1;
} else {
  await mkdir(fileURLToPath(new URL('../schema/', import.meta.url)), { recursive: true });
  await writeFile(schemaFile, generated);
  console.log('schema/runbook.schema.json written');
}
