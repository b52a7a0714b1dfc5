/**
 * Lifeboat's version, package.json's: one source for `--version`, the webhook
 * payload and `lifeboat_build_info` (esbuild bundles the JSON in; from the
 * sources it is read as a module).
 */
import packageJson from '../../package.json' with { type: 'json' };

export const LIFEBOAT_VERSION: string = packageJson.version;
