/**
 * The email sink: one mail per delivery through an SMTP server (nodemailer).
 *
 * Subject `[lifeboat] CRITICAL app-data: …` (`RESOLVED`, `ACKNOWLEDGED`…),
 * a text body with the alert's facts. Message-ID comes from the idempotency
 * key, so a delivery sent twice (a process died before recording it) is one
 * message to clients that deduplicate; In-Reply-To and References name an id
 * made from the alert key and its firstSeen, so every mail about one raising
 * of an alert lands in one thread.
 *
 * SMTP replies: 5xx is permanent (a refused recipient or sender, failed
 * authentication), 4xx transient (greylisting, a full mailbox, "try later"),
 * as is not getting an answer at all.
 */
import { createHash } from 'node:crypto';
import { SinkError, type Sink, type SinkMessage } from '../sink.js';
import { detailLines, summaryLine } from './alert-text.js';

export interface EmailSinkOptions {
  name: string;
  smtp: { host: string; port: number; secure: boolean; user?: string; password?: string };
  from: string;
  to: readonly string[];
  /** Per connection phase (connect, greeting, each command). Default 10 s. */
  timeoutMs?: number;
}

/** The domain message ids are made in: the sender's, so they look like the sender's own. */
function idDomain(from: string): string {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  const domain = address.split('@')[1]?.trim();
  return domain !== undefined && /^[A-Za-z0-9.-]+$/.test(domain) ? domain : 'lifeboat.invalid';
}

const idPart = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '-');

export function messageIdOf(message: Pick<SinkMessage, 'idempotencyKey'>, from: string): string {
  return `<lifeboat.${idPart(message.idempotencyKey)}@${idDomain(from)}>`;
}

/** One id per raising of an alert: the same key raised again after a resolution is a new thread. */
export function threadIdOf(alert: Pick<SinkMessage['alert'], 'key' | 'firstSeen'>, from: string): string {
  const digest = createHash('sha256').update(`${alert.key}\n${alert.firstSeen}`).digest('hex').slice(0, 32);
  return `<lifeboat.alert.${digest}@${idDomain(from)}>`;
}

interface SmtpFailure {
  responseCode?: number;
  code?: string;
  message?: string;
}

/** The SMTP server's reply, kept short; nodemailer's messages quote it and never the password. */
function failure(where: string, e: unknown): SinkError {
  const err = (e ?? {}) as SmtpFailure;
  const reply = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const said = (err.message ?? String(e)).replace(/\s+/g, ' ').slice(0, 200);
  if (reply !== undefined) {
    return new SinkError(`${where}: the SMTP server answered ${reply}: ${said}`, { permanent: reply >= 500 && reply < 600, cause: e });
  }
  return new SinkError(`${where}: cannot send (${err.code ?? 'error'}: ${said})`, { cause: e });
}

export function emailSink(options: EmailSinkOptions): Sink {
  const where = `email sink "${options.name}" (${options.smtp.host}:${options.smtp.port})`;
  const timeout = options.timeoutMs ?? 10_000;
  return {
    name: options.name,
    type: 'email',
    async send(message, signal) {
      // Loaded on first use: nodemailer is most of a megabyte that every command would otherwise parse at start.
      const { default: nodemailer } = await import('nodemailer');
      // A connection per delivery: alerts are few, and nothing is left open when a process ends.
      const transport = nodemailer.createTransport({
        host: options.smtp.host,
        port: options.smtp.port,
        secure: options.smtp.secure,
        ...(options.smtp.user !== undefined ? { auth: { user: options.smtp.user, pass: options.smtp.password ?? '' } } : {}),
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      });
      const abort = () => transport.close();
      signal.addEventListener('abort', abort, { once: true });
      const thread = threadIdOf(message.alert, options.from);
      try {
        if (signal.aborted) throw new SinkError(`${where}: cancelled`);
        await transport.sendMail({
          from: options.from,
          to: [...options.to],
          subject: `[lifeboat] ${summaryLine(message)}`,
          text: `${detailLines(message).join('\n')}\n`,
          messageId: messageIdOf(message, options.from),
          inReplyTo: thread,
          references: [thread],
          headers: { 'X-Lifeboat-Alert-Key': message.alert.key, 'X-Lifeboat-Transition': message.transition },
        });
      } catch (e) {
        if (e instanceof SinkError) throw e;
        throw failure(where, e);
      } finally {
        signal.removeEventListener('abort', abort);
        transport.close();
      }
    },
  };
}
