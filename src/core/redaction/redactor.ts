/**
 * The one place secret values are taken out of text. Every value Lifeboat
 * knows to be secret (runbook passwords and the values runbooks pass to child
 * processes, Slack and AWS credentials in its environment) is replaced by
 * `[redacted NAME]`, NAME being the variable (or `<runbook>-password` for a
 * key file), before hook output, stderr tails, error messages and command
 * lines reach the store, the log, an alert, Slack, the TUI or /metrics. The
 * wrappers in ./sinks.ts put it in front of each of those.
 *
 * Besides known values, three shapes are redacted wherever they appear,
 * because they are secrets Lifeboat cannot know (a credential written inline
 * in a command, a variable of some other program's environment):
 * `NAME=value` when NAME says it holds a secret (…PASSWORD, …TOKEN, …SECRET,
 * API_KEY…), the password of a URL (`postgres://user:pw@host`), and
 * `Bearer …` / `Basic …` credentials.
 *
 * Redacting twice changes nothing: text already inside a placeholder is left
 * alone, so a value that happens to occur in `[redacted …]` cannot garble it.
 * What this cannot catch, and does not pretend to: a secret a program prints
 * transformed (base64, hex, split over lines differently than it is stored).
 */

export type SecretKind =
  /** A runbook's repository password: never passed to a child process. */
  | 'repository-password'
  /** Lifeboat's own Slack credentials: never passed to a child process. */
  | 'slack'
  /** AWS credentials in Lifeboat's environment: passed only to a source that opts in. */
  | 'aws'
  /** A value a runbook passes to a child process (`env:`). */
  | 'child-variable'
  /** Another variable of Lifeboat's environment whose name says it is a secret. */
  | 'environment';

/** When two names hold the same value, the stronger kind decides (a password stays a password). */
const STRENGTH: Record<SecretKind, number> = { 'repository-password': 4, slack: 3, aws: 2, 'child-variable': 1, environment: 0 };

const FORBIDDEN_TO_CHILDREN: ReadonlySet<SecretKind> = new Set<SecretKind>(['repository-password', 'slack']);

/**
 * Shorter values are not treated as secrets: replacing every "abc" would
 * garble all output, and a value that short protects nothing anyway.
 */
export const MIN_SECRET_LENGTH = 4;

export interface KnownSecret {
  name: string;
  kind: SecretKind;
}

const PLACEHOLDER = /(\[redacted [^\]\s]+\])/;

const SECRET_WORD = 'PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?';
const ASSIGNMENT = new RegExp(`\\b([A-Za-z0-9_]*?(?:${SECRET_WORD})[A-Za-z0-9_]*)(=)("[^"]+"|'[^']+'|[^\\s"'&;|)]+)`, 'gi');
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]+)@/gi;
const AUTH_HEADER = /\b(Bearer|Basic) ([A-Za-z0-9._~+/-]{8,}=*)/g;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

export class Redactor {
  private readonly known = new Map<string, KnownSecret>();
  private pattern: RegExp | undefined;
  private stale = true;

  /**
   * Learn a secret. Its lines (for a multi-line key) and its URL-encoded form
   * are learned too, as output shows them that way.
   */
  add(name: string, value: string, kind: SecretKind): void {
    const forms = new Set([value, value.trim(), ...value.split(/\r?\n/).map((l) => l.trim()), encodeURIComponent(value)]);
    for (const form of forms) {
      if (form.length < MIN_SECRET_LENGTH) continue;
      const had = this.known.get(form);
      if (had && STRENGTH[had.kind] >= STRENGTH[kind]) continue;
      this.known.set(form, { name: name.replace(/[\]\s]/g, '_'), kind });
      this.stale = true;
    }
  }

  /** How many forms of secrets are known (for tests and diagnostics). */
  get size(): number {
    return this.known.size;
  }

  /** The secret this exact value is, when it is one no child process may be given. */
  forbiddenForChildren(value: string): KnownSecret | undefined {
    const known = this.known.get(value) ?? this.known.get(value.trim());
    return known && FORBIDDEN_TO_CHILDREN.has(known.kind) ? known : undefined;
  }

  redact(text: string): string {
    if (text === '') return text;
    const pattern = this.knownPattern();
    let out = pattern ? outsidePlaceholders(text, (t) => t.replace(pattern, (m) => `[redacted ${this.known.get(m)?.name ?? 'secret'}]`)) : text;
    out = outsidePlaceholders(out, redactShapes);
    return out;
  }

  /**
   * A copy of a JSON-like value (records, events, results) with every string
   * redacted; keys are kept. A result repeats many strings (a diff of 5,000
   * entries: modes, kinds, times): each distinct string is redacted once per
   * call — the same text always redacts to the same text.
   */
  redactDeep<T>(value: T): T {
    return mapStrings(value, this.#redactOncePerCall());
  }

  /** `redact`, remembering each distinct string's answer for one walk (the same text always redacts to the same text). */
  #redactOncePerCall(): (s: string) => string {
    const seen = new Map<string, string>();
    return (s) => {
      let out = seen.get(s);
      if (out === undefined) {
        out = this.redact(s);
        seen.set(s, out);
      }
      return out;
    };
  }

  private knownPattern(): RegExp | undefined {
    if (this.stale) {
      // Longest first, so a secret that contains another is replaced whole.
      const forms = [...this.known.keys()].sort((a, b) => b.length - a.length);
      this.pattern = forms.length === 0 ? undefined : new RegExp(forms.map(escapeRegExp).join('|'), 'g');
      this.stale = false;
    }
    return this.pattern;
  }
}

/**
 * A copy of a JSON-like value with `fn` applied to every string in it (keys
 * kept). Arrays and plain objects are walked; anything else (a Date, a
 * Buffer, a class instance) is passed through as it is.
 */
export function mapStrings<T>(value: T, fn: (s: string) => string): T {
  if (typeof value === 'string') return fn(value) as T;
  // Numbers, booleans, null: most leaves of a result; nothing to walk.
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => mapStrings(v, fn)) as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    // Object.keys, not entries: the same own enumerable keys without an array per key (a 5,000-row diff has ~100k).
    for (const k of Object.keys(value)) out[k] = mapStrings(value[k], fn);
    return out as T;
  }
  return value;
}

/**
 * The three shapes redacted wherever they appear. Each replace runs only when
 * its pattern's fixed part is in the text (`=`, `://` and `@`, `Bearer ` or
 * `Basic `): without it the pattern cannot match, and most strings (paths,
 * sizes, times) have none of them — the result is the same, at a fraction of
 * the cost.
 */
function redactShapes(t: string): string {
  let out = t;
  if (out.includes('=')) out = out.replace(ASSIGNMENT, (_m, name: string, eq: string) => `${name}${eq}[redacted ${name}]`);
  if (out.includes('://') && out.includes('@')) out = out.replace(URL_PASSWORD, (_m, head: string) => `${head}:[redacted url-password]@`);
  if (out.includes('Bearer ') || out.includes('Basic ')) out = out.replace(AUTH_HEADER, (_m, scheme: string) => `${scheme} [redacted ${scheme.toLowerCase()}-credential]`);
  return out;
}

/** Apply `fn` to the text between `[redacted …]` placeholders, never to a placeholder. */
function outsidePlaceholders(text: string, fn: (segment: string) => string): string {
  // No placeholder (the common case): the text is one segment; splitting would give just that.
  if (!text.includes('[redacted ')) return fn(text);
  const parts = text.split(PLACEHOLDER);
  // split with a capturing group: odd indexes are the placeholders themselves.
  return parts.map((part, i) => (i % 2 === 1 ? part : fn(part))).join('');
}
