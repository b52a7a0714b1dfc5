/**
 * Where Lifeboat keeps its state and finds its runbooks, decided once for
 * every face (CLI, console, serve). First set wins:
 *
 *   1. LIFEBOAT_HOME / LIFEBOAT_RUNBOOKS (relative to the working folder),
 *   2. `home:` / `runbooks:` in lifeboat.yaml (already resolved against its folder),
 *   3. ./.lifeboat / ./runbooks in the working folder.
 *
 * The environment beats the file so one run (a test, a one-off restore) can
 * point elsewhere without editing the file everyone shares.
 */
import path from 'node:path';
import type { LifeboatConfig } from './types.js';

export interface Places {
  /** The state folder, absolute. */
  home: string;
  /** The runbooks folder, absolute. */
  runbooksDir: string;
  /** What decided each, for messages ("runbooks folder /etc/lifeboat/runbooks, from lifeboat.yaml"). */
  from: { home: PlaceSource; runbooksDir: PlaceSource };
}

export type PlaceSource = 'env' | 'config' | 'default';

export interface PlaceInputs {
  config: Pick<LifeboatConfig, 'home' | 'runbooks'> | undefined;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

// An empty variable counts as unset: `LIFEBOAT_HOME= lifeboat status` should not mean "the working folder itself".
const set = (v: string | undefined): v is string => v !== undefined && v !== '';

function pick(fromEnv: string | undefined, fromConfig: string | undefined, fallback: string, cwd: string): [string, PlaceSource] {
  if (set(fromEnv)) return [path.resolve(cwd, fromEnv), 'env'];
  if (fromConfig !== undefined) return [path.resolve(cwd, fromConfig), 'config'];
  return [path.resolve(cwd, fallback), 'default'];
}

export function resolvePlaces({ config, env, cwd }: PlaceInputs): Places {
  const [home, homeFrom] = pick(env.LIFEBOAT_HOME, config?.home, '.lifeboat', cwd);
  const [runbooksDir, runbooksFrom] = pick(env.LIFEBOAT_RUNBOOKS, config?.runbooks, 'runbooks', cwd);
  return { home, runbooksDir, from: { home: homeFrom, runbooksDir: runbooksFrom } };
}
