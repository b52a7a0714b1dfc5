/** Golden JSON files for Block Kit messages. UPDATE_GOLDEN=1 rewrites them: review the diff before keeping it. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const dir = fileURLToPath(new URL('./golden/', import.meta.url));

export function checkGoldenJson(name: string, value: unknown): void {
  const file = `${dir}${name}.json`;
  const actual = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(existsSync(file), `${file} missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
  expect(actual, `${name}.json`).toBe(readFileSync(file, 'utf8'));
}
