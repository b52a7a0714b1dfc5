/**
 * What every bench entry (run.ts, store.ts, fleet.ts) does with its arguments
 * and its needs before it starts: a mistake is printed with the usage (exit 2;
 * `--help` prints the usage alone, exit 0), and a bench that starts its own
 * PostgreSQL says how to get the server binaries when they are missing.
 */
import { findPostgresBin } from '../test/helpers/drill-postgres.js';

/** A mistake in a bench's arguments; an empty message is a request for the usage (--help). */
export class UsageError extends Error {}

/** The parsed options, or the exit code after printing what was wrong and the usage. */
export function parseOrUsage<T>(parse: (argv: string[]) => T, argv: string[], usage: string): T | number {
  try {
    return parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message) console.error(`bench: ${e.message}`);
    console.error(usage);
    return e.message ? 2 : 0;
  }
}

/** The PostgreSQL server binaries' folder, or undefined after saying how to install them. */
export function postgresBinFor(bench: string): string | undefined {
  const bin = findPostgresBin();
  if (bin === undefined) {
    console.error(
      `bench: the ${bench} bench needs PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) under /usr/lib/postgresql/<version>/bin, and found none: install the Debian package postgresql (apt-get install postgresql), then run it again.`,
    );
  }
  return bin;
}
