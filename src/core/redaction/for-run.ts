/**
 * A run (backup, drill) writes through redacting wrappers: its own runbook's
 * secrets are learned on top of what the caller knows (every runbook of the
 * folder, when the command layer built `secrets`), so a runbook given by path
 * is covered too.
 */
import type { RunContext } from '../run-context.js';
import { knownSecrets, learnRunbook } from './known-secrets.js';
import type { Redactor } from './redactor.js';
import { redactingSink, redactingStore } from './sinks.js';

export async function redactedRun<T extends RunContext>(input: T): Promise<T & { secrets: Redactor }> {
  const secrets = input.secrets ?? (await knownSecrets(input.env, []));
  await learnRunbook(secrets, input.runbook, input.env);
  return { ...input, secrets, store: redactingStore(input.store, secrets), emit: redactingSink(input.emit, secrets) };
}
