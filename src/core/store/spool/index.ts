/** The spool that keeps a backup's records through a state store outage (issue 18). */
export { Spool, spoolDirOf, type SpoolEntry, type SpoolOp } from './spool.js';
export { SpoolingStore, type ReplayResult, type SpoolingStoreOptions } from './spooling-store.js';
export { isStoreUnreachable, STORE_UNREACHABLE, storeUnreachableError, unreachableReason } from './unreachable.js';
