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
  findRunbookFile,
  isRunbookPath,
  listRunbooks,
  loadRunbook,
  validateRunbookFile,
  type RunbookCheck,
  type RunbookEntry,
  type RunbookLocations,
} from './load.js';
export { formatIssue, type RunbookIssue } from './issues.js';
export { assertExampleCanRun, EXAMPLE_PREFIX, exampleOf, lifeboatInstallRoot, shippedExamplesDir } from './examples.js';
export { isTemplateKind, runbookJsonSchemaFile, runbookNameProblem, writeNewRunbook, type NewRunbookInput } from './new-runbook.js';
export { TEMPLATE_KINDS, type TemplateKind } from './templates.js';
export { peekSecret, resolveSecret, type SecretEnv } from './secrets.js';
export { parseBandwidth, parseDuration, parsePercentage, parseSize } from './units.js';
export { runbookSchema, STORAGE_CLASSES, type ParsedRunbook } from './schema.js';
export { runbookFields, type FieldDoc } from './fields.js';
export { renderRunbookReference } from './reference.js';
