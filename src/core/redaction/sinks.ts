/**
 * The redactor in front of the ways data leaves a run: the store (state.json,
 * which the TUI, alerts and /metrics read) and the event stream (the live TUI,
 * Slack's run messages, the log). Each wrapper redacts a copy and passes it on;
 * wrapping the same target twice with the same redactor returns it unchanged.
 */
import type { EventSink } from '../events.js';
import type { Store } from '../store/store.js';
import type { Redactor } from './redactor.js';

const wrapped = new WeakMap<object, Redactor>();

/** A Store whose writes are redacted; reads pass through (what is stored is already clean). */
export function redactingStore(store: Store, redactor: Redactor): Store {
  if (wrapped.get(store) === redactor) return store;
  const out: Store = {
    putRun: (run) => store.putRun(redactor.redactDeep(run)),
    getRun: (id) => store.getRun(id),
    listRuns: (options) => store.listRuns(options),
    putDrill: (drill) => store.putDrill(redactor.redactDeep(drill)),
    listDrills: (options) => store.listDrills(options),
    putAlert: (alert, deliveries, options) => store.putAlert(redactor.redactDeep(alert), deliveries && redactor.redactDeep(deliveries), options),
    getAlert: (key) => store.getAlert(key),
    listAlerts: (options) => store.listAlerts(options),
    claimDeliveries: (options) => store.claimDeliveries(options),
    finishDelivery: (id, owner, result) => store.finishDelivery(id, owner, result.ok ? result : redactor.redactDeep(result)),
    listDeliveries: (options) => store.listDeliveries(options),
    appendAudit: (entry) => store.appendAudit(redactor.redactDeep(entry)),
    listAudit: (options) => store.listAudit(options),
    close: () => store.close(),
  };
  wrapped.set(out, redactor);
  return out;
}

/** An event sink that sees every event with its text redacted. */
export function redactingSink(sink: EventSink, redactor: Redactor): EventSink {
  if (wrapped.get(sink) === redactor) return sink;
  const out: EventSink = (event) => sink(redactor.redactDeep(event));
  wrapped.set(out, redactor);
  return out;
}
