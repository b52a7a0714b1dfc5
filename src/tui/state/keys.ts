/**
 * Keys, in order of who takes them: a confirmation question, the prompt, the
 * help overlay, then the screens' own keys (navigation, tabs, the one-letter
 * commands on the selected runbook).
 */
import { enqueue, openBrowser, requestCommand, requestQuit } from './commands.js';
import { moveCursor } from './cursor.js';
import { applyPromptKey, openPrompt } from './prompt.js';
import { selectedRunbook } from './selectors.js';
import { screens, type HistoryFilter, type KeyInfo, type TuiState } from './types.js';

/** One character of a multi-character input as Ink would have reported it alone. */
function charKey(ch: string): [string, KeyInfo] {
  switch (ch) {
    case '\r':
    case '\n':
      return ['', { return: true }];
    case '\t':
      return ['', { tab: true }];
    case '\x7f':
    case '\b':
      return ['', { backspace: true }];
    case '\x1b':
      return ['', { escape: true }];
    default:
      return [ch, {}];
  }
}

export function applyKey(state: TuiState, input: string, key: KeyInfo): TuiState {
  // Typed-ahead or pasted keys arrive as one input (":backup demo"): take them one by one,
  // so ':' opens the prompt and the rest lands in it.
  if (input.length > 1 && !key.ctrl && !key.meta) {
    return [...input].reduce((s, ch) => applyKey(s, ...charKey(ch)), state);
  }
  if (state.confirm) return applyConfirmKey(state, input, key);
  if (state.prompt) return applyPromptKey(state, input, key);
  if (state.help) {
    if (input === 'q') return requestQuit(state);
    if (key.escape || input === '?' || key.return) return { ...state, help: false };
    return state;
  }
  return applyScreenKey(state, input, key);
}

function applyConfirmKey(state: TuiState, input: string, key: KeyInfo): TuiState {
  if (input === 'y' || input === 'Y') {
    const { action } = state.confirm!;
    const cleared = { ...state, confirm: undefined };
    return action.type === 'quit' ? { ...cleared, quit: true } : enqueue(cleared, action.argv);
  }
  if (input === 'n' || input === 'N' || key.escape) return { ...state, confirm: undefined, message: { text: 'cancelled', tone: 'muted' } };
  return state;
}

function applyScreenKey(state: TuiState, input: string, key: KeyInfo): TuiState {
  if (key.upArrow || input === 'k') return moveCursor(state, -1);
  if (key.downArrow || input === 'j') return moveCursor(state, 1);
  if (key.pageUp) return moveCursor(state, -10);
  if (key.pageDown) return moveCursor(state, 10);
  if (key.tab) {
    const i = Math.max(0, screens.indexOf(state.screen));
    const next = screens[(i + (key.shift ? screens.length - 1 : 1)) % screens.length]!;
    return { ...state, screen: next };
  }
  if (key.escape) {
    if (state.screen === 'history' && state.history.detail) return { ...state, history: { ...state.history, detail: false } };
    return { ...state, screen: 'dashboard', message: undefined };
  }
  if (key.return) {
    if (state.screen === 'dashboard') return { ...state, screen: 'history', history: { ...state.history, detail: false } };
    if (state.screen === 'history') return { ...state, history: { ...state.history, detail: !state.history.detail } };
    return state;
  }
  const rb = selectedRunbook(state);
  switch (input) {
    case 'q':
      return requestQuit(state);
    case '?':
      return { ...state, help: true };
    case ':':
      return openPrompt(state);
    case '1':
    case '2':
    case '3':
    case '4':
      // The tabs in the order the header numbers them.
      return { ...state, screen: screens[Number(input) - 1]! };
    case 'b':
      return rb ? requestCommand(state, ['backup', rb.name]) : state;
    case 'D':
      return rb ? requestCommand(state, ['restore-drill', rb.name]) : state;
    case 'c':
      return rb ? requestCommand(state, ['check', rb.name]) : state;
    case 's':
      return rb ? openBrowser(state, rb.name) : state;
    case 'H':
      return state.snapshot?.hosts !== undefined
        ? { ...state, screen: 'hosts' }
        : { ...state, message: { text: 'no hosts to show: the JSON store has no agents (a fleet shares a PostgreSQL store)', tone: 'muted' } };
    case 'a': {
      if (state.screen !== 'alerts') return state;
      const alert = state.snapshot?.alerts[state.alertCursor];
      return alert ? requestCommand(state, ['ack', alert.key]) : { ...state, message: { text: 'no open alert to acknowledge', tone: 'muted' } };
    }
    case 'f': {
      if (state.screen !== 'history') return state;
      const order: HistoryFilter[] = ['all', 'backups', 'drills'];
      const filter = order[(order.indexOf(state.history.filter) + 1) % order.length]!;
      return { ...state, history: { cursor: 0, detail: false, filter } };
    }
    default:
      return state;
  }
}
