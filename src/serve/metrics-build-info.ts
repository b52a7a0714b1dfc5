/**
 * The labels of `lifeboat_build_info` (the Prometheus convention: a gauge of 1
 * whose labels say what runs, so a dashboard can join on them or count
 * versions across hosts). Read once when serve starts, never per scrape.
 *
 * The version is package.json's (src/core/version.ts).
 * No git commit: an installed copy need not be a checkout, and spawning git
 * from a metrics endpoint is not worth a label.
 */
import { LIFEBOAT_VERSION } from '../core/index.js';

export interface BuildInfo {
  /** Lifeboat's version (package.json). */
  version: string;
  /** The Node.js running serve, e.g. v20.20.0. */
  node_version: string;
}

export function buildInfo(): BuildInfo {
  return { version: LIFEBOAT_VERSION, node_version: process.version };
}
