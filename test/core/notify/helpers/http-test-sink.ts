/**
 * A small Sink of the tests' own that makes one real HTTP request per
 * delivery (to the recording server of test/helpers/recording-http.ts), so the
 * outbox is tested against real connections before and beside the real sinks:
 * POST <base>/<sink name> with the message as JSON and an Idempotency-Key
 * header. 2xx delivered (receipt: the request's answer and the transition);
 * 4xx permanent; 5xx, a refused connection or a timeout transient.
 */
import { SinkError, type Sink, type SinkMessage } from '../../../../src/core/notify/sink.js';

export function httpTestSink(name: string, base: string): Sink {
  const url = `${base}/${name}`;
  const host = new URL(url).host;
  return {
    name,
    type: 'webhook',
    async send(message: SinkMessage, signal: AbortSignal) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': message.idempotencyKey },
          body: JSON.stringify({ transition: message.transition, key: message.alert.key, previous: message.previous ?? null, at: message.at }),
          signal,
        });
        await res.text();
      } catch (e) {
        throw new SinkError(`${name} (${host}): ${(e as Error).name === 'AbortError' || (e as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable'}`, { cause: e });
      }
      if (res.status >= 400) throw new SinkError(`${name} (${host}): HTTP ${res.status}`, { permanent: res.status < 500 && res.status !== 429 });
      return { status: String(res.status), transition: message.transition };
    },
  };
}

/** What the recording server saw: `transition key` per request to `/name`, in arrival order. */
export function received(requests: readonly { pathname: string; body: string; answered: number | string }[], name: string): string[] {
  return requests.filter((r) => r.pathname === `/${name}`).map((r) => {
    const body = JSON.parse(r.body) as { transition: string; key: string };
    return `${body.transition} ${body.key} → ${r.answered}`;
  });
}
