/** Redaction of secret values before anything leaves the process (see redactor.ts). */
export { mapStrings, MIN_SECRET_LENGTH, Redactor, type KnownSecret, type SecretKind } from './redactor.js';
export { knownSecrets, learnEnvironment, learnRunbook, secretKindOfVariable } from './known-secrets.js';
export { redactingSink, redactingStore } from './sinks.js';
export { redactedRun } from './for-run.js';
