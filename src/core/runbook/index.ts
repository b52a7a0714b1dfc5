/** What the rest of Lifeboat may import from the runbook module. */
export type {
  ChildEnvRefs,
  ColdLocation,
  CommandSource,
  PathSource,
  RepositoryLocation,
  RetentionPolicy,
  Runbook,
  Schedule,
  SecretRef,
  Source,
  StorageClass,
} from './types.js';
export {
  checkRunbookText,
  isRunbookPath,
  listRunbooks,
  loadRunbook,
  validateRunbookFile,
  type RunbookCheck,
  type RunbookEntry,
  type RunbookLocations,
} from './load.js';
export { formatIssue, type RunbookIssue } from './issues.js';
export { peekSecret, resolveSecret, type SecretEnv } from './secrets.js';
export { parseBandwidth, parseDuration, parsePercentage, parseSize } from './units.js';
export { runbookSchema, STORAGE_CLASSES, type ParsedRunbook } from './schema.js';
export { runbookFields, type FieldDoc } from './fields.js';
export { renderRunbookReference } from './reference.js';
