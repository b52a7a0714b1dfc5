/**
 * Runbooks for the pipeline tests: folder and stream sources, hooks, retention
 * and verify, written as the YAML an operator would write (through the `yaml`
 * package, so commands with quotes and `$` survive), with the repository
 * password taken from LIFEBOAT_PASSWORD.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export type PipelineSource = { name: string; path: string; exclude?: string[] } | { name: string; command: string; restore?: string };

export interface PipelineRunbookOptions {
  sources: PipelineSource[];
  /** Folder of the repository (a file:// URL is made of it). */
  repo: string;
  hooks?: { before?: string[]; after?: string[] };
  retention?: Partial<Record<'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly', number>> & { within?: string };
  /** e.g. `{ readData: '50%' }`. */
  verify?: { readData: string };
}

export const PIPELINE_PASSWORD = 'pipeline tests password';

/** Writes `<dir>/<name>.yaml` (the base name must equal `name`) and returns its path. */
export function writePipelineRunbook(dir: string, name: string, options: PipelineRunbookOptions): string {
  const doc: Record<string, unknown> = {
    name,
    owner: '@lifeboat-tests',
    sources: options.sources,
    ...(options.hooks ? { hooks: options.hooks } : {}),
    repository: { hot: { url: `file://${options.repo}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    schedule: { backup: '0 * * * *', timezone: 'UTC' },
    objectives: { rpo: '26h', rto: '5m' },
    ...(options.retention ? { retention: options.retention } : {}),
    ...(options.verify ? { verify: options.verify } : {}),
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** The environment every CLI call of a pipeline test gets (on top of runCli's minimal one). */
export function pipelineEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD, LIFEBOAT_HOME: home, ...extra };
}
