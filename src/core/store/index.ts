/** What the rest of Lifeboat imports from the store. */
export type { AuditListOptions, ClaimedDelivery, ClaimOptions, DeliveryListOptions, DeliveryResult, DrillListOptions, ListOptions, PutAlertOptions, RunListOptions, Store, StoreLimits } from './store.js';
export { defaultStoreLimits } from './store.js';
export { groupByRunbook } from './group-by-runbook.js';
export type * from './records.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { defaultStateFileName, openJsonStore, stateFilePath, type JsonStore, type JsonStoreOptions } from './json-store.js';
export { recoverCorruptStore, type RecoveryOptions, type RecoveryResult } from './recover-corrupt-store.js';
export type { LockSettings } from './file-lock.js';
export type { AlertListOptions } from './state-ops.js';
// The PostgreSQL store (issue 18).
export { openPostgresStore, PostgresStore, type PostgresStoreOptions, type PruneCounts } from './postgres/postgres-store.js';
export { assertSchemaCurrent, latestSchemaVersion, migratePostgres, type MigrationResult } from './postgres/migrations.js';
export { COMMAND_STORE_CONNECTIONS, migrateConfiguredStore, openConfiguredStore, STORE_URL_ENV, storeSetting, type OpenStoreOptions, type StoreMigration, type StoreSetting } from './open-store.js';
export { importState, readStateFileForImport, type ImportCounts } from './import-state.js';
// Store outages (issue 18): a backup's records spooled on local disk and replayed when the store returns.
export { isStoreUnreachable, Spool, spoolDirOf, SpoolingStore, STORE_UNREACHABLE, storeUnreachableError, type ReplayResult, type SpoolEntry, type SpoolingStoreOptions, type SpoolOp } from './spool/index.js';
