/** The `:` prompt: editing, history, Tab completion, and turning a line into argv. */
import { requestCommand } from './commands.js';
import { clamp } from './cursor.js';
import type { KeyInfo, TuiState } from './types.js';

/** Lines of prompt history kept. */
const PROMPT_HISTORY = 50;

/** Split a prompt line into argv: whitespace-separated, with '…' and "…" quoting. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** Complete the prompt text: the first word against command names, later words against runbook names. */
export function complete(text: string, commandNames: readonly string[], runbookNames: readonly string[]): { text: string; completions: string[] } {
  const words = text.split(/\s+/);
  const atNewWord = /\s$/.test(text) || text === '';
  const current = atNewWord ? '' : (words[words.length - 1] ?? '');
  const isFirst = words.filter((w) => w !== '').length <= (atNewWord ? 0 : 1);
  const pool = isFirst ? commandNames : current.startsWith('-') ? [] : runbookNames;
  const matches = [...new Set(pool.filter((n) => n.startsWith(current)))].sort();
  if (matches.length === 0) return { text, completions: [] };
  const base = text.slice(0, text.length - current.length);
  if (matches.length === 1) return { text: `${base}${matches[0]} `, completions: [] };
  const prefix = commonPrefix(matches);
  return { text: `${base}${prefix}`, completions: matches };
}

function commonPrefix(words: string[]): string {
  let p = words[0] ?? '';
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** Open the prompt, empty. */
export function openPrompt(state: TuiState): TuiState {
  return { ...state, prompt: { text: '', completions: [] }, promptHistoryIndex: undefined };
}

/** A key while the prompt is open (the caller checked that it is). */
export function applyPromptKey(state: TuiState, input: string, key: KeyInfo): TuiState {
  const prompt = state.prompt!;
  if (key.escape) return { ...state, prompt: undefined, promptHistoryIndex: undefined };
  if (key.return) {
    const line = prompt.text.trim();
    const next = {
      ...state,
      prompt: undefined,
      promptHistoryIndex: undefined,
      promptHistory: line ? [...state.promptHistory.filter((l) => l !== line), line].slice(-PROMPT_HISTORY) : state.promptHistory,
    };
    return line ? requestCommand(next, splitArgs(line)) : next;
  }
  if (key.tab) {
    const runbooks = state.snapshot?.runbooks.map((r) => r.name) ?? [];
    return { ...state, prompt: complete(prompt.text, state.commandNames, runbooks) };
  }
  if (key.backspace || key.delete) {
    if (prompt.text === '') return { ...state, prompt: undefined };
    return { ...state, prompt: { text: prompt.text.slice(0, -1), completions: [] } };
  }
  if (key.upArrow || key.downArrow) {
    const h = state.promptHistory;
    if (h.length === 0) return state;
    const cur = state.promptHistoryIndex ?? h.length;
    const idx = clamp(cur + (key.upArrow ? -1 : 1), h.length);
    return { ...state, promptHistoryIndex: idx, prompt: { text: h[idx] ?? '', completions: [] } };
  }
  if (key.ctrl && input === 'u') return { ...state, prompt: { text: '', completions: [] } };
  if (key.ctrl || key.meta || input === '') return state;
  // Pasted text arrives as one input; keep printable characters only.
  const printable = [...input].filter((ch) => ch >= ' ' && ch !== '\x7f').join('');
  return { ...state, prompt: { text: prompt.text + printable, completions: [] } };
}
