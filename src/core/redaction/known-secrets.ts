/**
 * Which values are secrets: what Lifeboat's environment holds under a secret's
 * name, and what runbooks refer to (their repository passwords and the values
 * they pass to child processes). Values are read, never logged; a reference
 * that cannot be read now (a key file not created yet, an unset variable) is
 * skipped — the run that needs it reports it, and learns it once it exists.
 */
import { runbookChildEnvs } from '../child/child-env.js';
import type { LifeboatConfig, SinkConfig } from '../config/types.js';
import { peekSecret, type SecretEnv } from '../runbook/secrets.js';
import { STORE_URL_ENV } from '../store/open-store.js';
import type { Runbook, SecretRef } from '../runbook/types.js';
import { Redactor, type SecretKind } from './redactor.js';

/** Names of variables that hold secrets by convention (GITHUB_TOKEN, DB_PASSWORD, SLACK_SIGNING_SECRET…). */
const SECRET_NAME = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|CREDENTIAL/i;
/** The AWS SDK's credential variables; the key id is not secret by itself, but it names the account. */
const AWS_CREDENTIALS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN']);
/**
 * A variable guessed to be secret only by its name must be this long to count:
 * a flag like SOME_TOKEN_CHECK=false must not turn every "false" into a placeholder.
 */
const MIN_GUESSED_LENGTH = 8;

/** What kind of secret a variable of Lifeboat's environment holds, if any. */
export function secretKindOfVariable(name: string): SecretKind | undefined {
  // The state store's URL carries its password (and may carry it where the URL shape does not show it: ?password=).
  if (name === STORE_URL_ENV) return 'environment';
  if (name.startsWith('SLACK_')) return SECRET_NAME.test(name) ? 'slack' : undefined; // SLACK_API_URL is not one
  if (AWS_CREDENTIALS.has(name) || (name.startsWith('AWS_') && SECRET_NAME.test(name))) return 'aws';
  return SECRET_NAME.test(name) ? 'environment' : undefined;
}

/** Learn the secrets of Lifeboat's own environment. */
export function learnEnvironment(redactor: Redactor, env: SecretEnv): void {
  for (const [name, value] of Object.entries(env)) {
    const kind = value === undefined ? undefined : secretKindOfVariable(name);
    if (kind === undefined || value === undefined) continue;
    if (kind === 'environment' && value.length < MIN_GUESSED_LENGTH) continue;
    redactor.add(name, value, kind);
  }
}

/** Learn a runbook's repository password, the values it passes to child processes and its ping URL. */
export async function learnRunbook(redactor: Redactor, runbook: Runbook, env: SecretEnv): Promise<void> {
  const password = runbook.repository.password;
  const value = await peekSecret(password, env);
  if (value !== undefined) redactor.add(password.kind === 'env' ? password.name : `${runbook.name}-password`, value, 'repository-password');
  for (const { optIn } of runbookChildEnvs(runbook)) {
    for (const [name, ref] of Object.entries(optIn)) {
      const passed = await peekSecret(ref, env);
      if (passed !== undefined) redactor.add(name, passed, 'child-variable');
    }
  }
  // Each copy's password and S3 keys (repository.copies) are as secret as the hot repository's.
  for (const copy of runbook.repository.copies ?? []) {
    const copyPassword = copy.password === undefined ? undefined : await peekSecret(copy.password, env);
    if (copy.password !== undefined && copyPassword !== undefined) {
      redactor.add(copy.password.kind === 'env' ? copy.password.name : `${runbook.name}-${copy.name}-password`, copyPassword, 'repository-password');
    }
    for (const [part, ref] of Object.entries(copy.credentials ?? {})) {
      const key = await peekSecret(ref, env);
      if (key !== undefined) redactor.add(ref.kind === 'env' ? ref.name : `${runbook.name}-${copy.name}-${part}`, key, 'aws');
    }
  }
  // A dead man's switch URL is its own credential: whoever has it can report success.
  const ping = runbook.alerts.ping?.url;
  const url = ping === undefined ? undefined : await peekSecret(ping, env);
  if (ping !== undefined && url !== undefined) redactor.add(ping.kind === 'env' ? ping.name : `${runbook.name}-ping-url`, url, 'environment');
}

/** The one secret a sink of lifeboat.yaml refers to, if any. */
function secretOf(c: SinkConfig): SecretRef | undefined {
  switch (c.type) {
    case 'slack':
      return c.token;
    case 'webhook':
      return c.secret;
    case 'ntfy':
      return c.token;
    case 'pagerduty':
      return c.routingKey;
    case 'email':
      return c.smtp.password;
  }
}

/** Learn the secrets lifeboat.yaml's sinks refer to (tokens, routing keys, HMAC secrets, SMTP passwords). */
export async function learnConfig(redactor: Redactor, config: LifeboatConfig, env: SecretEnv): Promise<void> {
  for (const [sink, c] of Object.entries(config.notify)) {
    const ref = secretOf(c);
    const value = ref === undefined ? undefined : await peekSecret(ref, env);
    if (ref !== undefined && value !== undefined) redactor.add(ref.kind === 'env' ? ref.name : `${sink}-secret`, value, c.type === 'slack' ? 'slack' : 'environment');
  }
  const store = config.store?.url;
  const url = store === undefined ? undefined : await peekSecret(store, env);
  if (store !== undefined && url !== undefined) redactor.add(store.kind === 'env' ? store.name : 'store-url', url, 'environment');
}

/** A redactor that knows the environment's secrets and those of every runbook given (and of lifeboat.yaml's sinks). */
export async function knownSecrets(env: SecretEnv, runbooks: readonly Runbook[], config?: LifeboatConfig): Promise<Redactor> {
  const redactor = new Redactor();
  learnEnvironment(redactor, env);
  for (const runbook of runbooks) await learnRunbook(redactor, runbook, env);
  if (config) await learnConfig(redactor, config, env);
  return redactor;
}
