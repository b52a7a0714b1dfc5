/**
 * Which store failures mean "the state store is not there right now" (the
 * server is down, restarting, out of reach, full) as opposed to a real error
 * (a refused password, a schema too old, a constraint, a bug), which must still
 * throw. Only the first kind is spooled (spooling-store.ts): spooling a real
 * error would hide it behind a backup that looks fine.
 *
 * Node's and pg's errors are looked at through `cause` chains (open-store.ts
 * wraps pg's connect errors) and AggregateErrors (a host name with several
 * addresses fails with one per address).
 */
import { isLifeboatError, LifeboatError } from '../../errors.js';

/** Socket-level failures: nothing answered, or the connection went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  // A name that does not resolve is as often a DNS outage as a typo; a backup keeps its records either way
  // and every read says the store cannot be reached, so a typo does not go unnoticed.
  'ENOTFOUND',
]);

/**
 * SQLSTATEs of a server that is going away or not accepting yet: class 08
 * (connection exception) is matched by prefix; 57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down, in
 * recovery), 57P05 idle session timeout, 53300 too_many_connections (full:
 * the same as down for a backup that must not wait).
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300']);

/** pg's own messages for a connection it lost or could not make in time (it sets no code on these). */
const PG_MESSAGES = [/connection terminated/i, /is not queryable/i, /timeout expired/i, /query read timeout/i, /connection timeout/i, /server closed the connection unexpectedly/i, /connection ended unexpectedly/i];

/** The reason a store error carries when it means the store is unreachable (see storeUnreachableError). */
export const STORE_UNREACHABLE = 'store-unreachable';

export function isStoreUnreachable(e: unknown): boolean {
  return check(e, 0);
}

function check(e: unknown, depth: number): boolean {
  if (e === null || typeof e !== 'object' || depth > 8) return false;
  if (isLifeboatError(e)) {
    if (e.details.reason === STORE_UNREACHABLE) return true;
    // A LifeboatError of any other kind was decided on purpose (schema too old, closed store): not an outage…
    // …unless it only wraps one (open-store.ts's `unreachable` names the store around pg's error).
    return e.code === 'BACKEND_UNAVAILABLE' && check(e.cause, depth + 1);
  }
  const { code, message, errors, cause, syscall } = e as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown; syscall?: unknown };
  if (typeof code === 'string') {
    // A unix socket path whose server is not running; any other missing file is a real error.
    if (code === 'ENOENT' && syscall === 'connect') return true;
    if (NETWORK_CODES.has(code) || SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    // Any other SQLSTATE (or errno) is the server's (or the system's) real answer.
    if (/^[0-9A-Z]{5}$/.test(code) || code.startsWith('E')) return false;
  }
  if (Array.isArray(errors) && errors.length > 0 && errors.every((x) => check(x, depth + 1))) return true;
  if (typeof message === 'string' && PG_MESSAGES.some((re) => re.test(message))) return true;
  return check(cause, depth + 1);
}

/** One line on why the store could not be reached, from pg's error (never a URL: pg's messages hold host and port only). */
export function unreachableReason(e: unknown): string {
  if (e === null || typeof e !== 'object') return String(e);
  if (isLifeboatError(e) && e.details.reason === STORE_UNREACHABLE && typeof e.details.why === 'string') return e.details.why;
  const { message, code, errors, cause } = e as { message?: unknown; code?: unknown; errors?: unknown; cause?: unknown };
  if (isLifeboatError(e) && cause !== undefined) return unreachableReason(cause);
  if (typeof message === 'string' && message.trim() !== '') return message.trim().split('\n', 1)[0]!;
  if (Array.isArray(errors) && errors.length > 0) return unreachableReason(errors[0]);
  if (typeof code === 'string') return code;
  return 'no answer';
}

/**
 * The error every read (and every write that cannot be spooled) throws while
 * the store is down: names the store as host:port/database and where this
 * home's records are being kept meanwhile. Retryable; exit code 1.
 */
export function storeUnreachableError(where: string, spoolDir: string, cause: unknown): LifeboatError {
  const why = unreachableReason(cause);
  return new LifeboatError(
    'BACKEND_UNAVAILABLE',
    `state store unreachable: ${where} (${why}); backup and drill records are being spooled to ${spoolDir} and written to the store when it returns`,
    { retryable: true, cause, details: { reason: STORE_UNREACHABLE, where, spool: spoolDir, why } },
  );
}
