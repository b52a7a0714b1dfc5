/**
 * The console's root: keeps the view state in the reducer (state.ts), feeds it
 * keys, engine events and store polls, and carries out what the reducer asks
 * for (run a queued command, quit). It picks the screen; the screens only draw.
 *
 * One `useInput` for the whole console: every key goes to the reducer, which
 * knows which pane has focus (prompt, question, help, screen). Handlers only
 * dispatch, so they never act on a stale state (useInput re-subscribes only
 * after a render: a handler that read state could see a value ~30 ms old when
 * keys come fast, as test/tui/app.test.tsx sends them).
 */
import { Box, useApp, useInput, useStdin, useStdout } from 'ink';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { CommandResult } from '../../commands/command.js';
import type { EventSink } from '../core/index.js';
import { Browser } from './browser/Browser.js';
import type { BrowseHost } from './browser/host.js';
import { AlertsPane } from './components/AlertsPane.js';
import { HostsPane } from './components/HostsPane.js';
import { CommandPrompt } from './components/CommandPrompt.js';
import { ConfirmPrompt } from './components/ConfirmPrompt.js';
import { Dashboard } from './components/Dashboard.js';
import { Header } from './components/Header.js';
import { Help } from './components/Help.js';
import { History } from './components/History.js';
import { OutputView } from './components/OutputView.js';
import { RunView } from './components/RunView.js';
import { StatusBar } from './components/StatusBar.js';
import { focusedRun, historyEntries, initialState, outputCommand, reduce, runningCommands, selectedRunbook, type StoreSnapshot, type TuiState } from './state.js';

/** What the console needs from the outside world; run-tui.tsx builds it over the commands and the store. */
export interface TuiHost {
  /** Names of the shared commands, for completion and validation. */
  commandNames: string[];
  /** Run a shared command as this console's user; its events stream to `emit`. */
  run(argv: string[], emit: EventSink, signal: AbortSignal): Promise<CommandResult>;
  /** One poll of the store (status, runs, drills, open alerts). */
  load(): Promise<StoreSnapshot>;
  now(): Date;
  /** What the snapshot browser reads and restores through; absent: no browser. */
  browse?: BrowseHost;
}

export interface AppProps {
  host: TuiHost;
  /** How often the store is polled, so runs started elsewhere appear (default 1 s). */
  pollMs?: number;
  /** Called with the commands still running when the console quits. */
  onQuit?: (pending: Promise<unknown>[]) => void;
}

export function App({ host, pollMs = 1000, onQuit }: AppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { stdout } = useStdout();
  const [state, dispatch] = useReducer(reduce, undefined, () =>
    initialState({ commandNames: host.commandNames, columns: stdout.columns || 80, rows: stdout.rows || 24 }),
  );
  const [now, setNow] = useState(() => host.now());

  // While the browser is open it takes the keys.
  useInput((input, key) => dispatch({ type: 'key', input, key }), { isActive: isRawModeSupported === true && state.browse === undefined });
  const closeBrowser = useCallback(() => dispatch({ type: 'browse.closed' }), []);

  useEffect(() => {
    const onResize = () => dispatch({ type: 'resize', columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  // Poll the store; `refresh` also runs right after a command ends. Polls never overlap.
  const poll = useRef({ busy: false, again: false, stopped: false, timer: undefined as NodeJS.Timeout | undefined });
  const refresh = useCallback(() => {
    const p = poll.current;
    if (p.stopped) return;
    if (p.busy) {
      p.again = true;
      return;
    }
    p.busy = true;
    clearTimeout(p.timer);
    host
      .load()
      .then(
        (snapshot) => !p.stopped && dispatch({ type: 'snapshot', snapshot }),
        (e: unknown) => !p.stopped && dispatch({ type: 'snapshot.failed', message: e instanceof Error ? e.message : String(e) }),
      )
      .finally(() => {
        p.busy = false;
        if (p.stopped) return;
        setNow(host.now());
        if (p.again) {
          p.again = false;
          refresh();
        } else p.timer = setTimeout(refresh, pollMs);
      });
  }, [host, pollMs]);
  useEffect(() => {
    const p = poll.current;
    p.stopped = false;
    refresh();
    return () => {
      p.stopped = true;
      clearTimeout(p.timer);
    };
  }, [refresh]);

  // Run what the reducer queued.
  const inFlight = useRef(new Map<number, { controller: AbortController; done: Promise<unknown> }>());
  useEffect(() => {
    for (const c of state.commands) {
      if (c.status !== 'queued' || inFlight.current.has(c.id)) continue;
      const controller = new AbortController();
      dispatch({ type: 'command.started', id: c.id });
      const done = host
        .run(c.argv, (event) => dispatch({ type: 'event', event, commandId: c.id }), controller.signal)
        .then(
          (r) => dispatch({ type: 'command.finished', id: c.id, exitCode: r.exitCode, summary: r.summary, lines: r.lines, table: r.table }),
          (e: unknown) => dispatch({ type: 'command.finished', id: c.id, exitCode: 1, summary: e instanceof Error ? e.message : String(e) }),
        )
        .finally(() => {
          inFlight.current.delete(c.id);
          refresh();
        });
      inFlight.current.set(c.id, { controller, done });
    }
  }, [state.commands, host, refresh]);

  // Ctrl-C unmounts without going through `quit`: cancel what runs all the same.
  const onQuitRef = useRef(onQuit);
  onQuitRef.current = onQuit;
  useEffect(() => {
    const flights = inFlight.current;
    return () => {
      const pending = [...flights.values()];
      for (const p of pending) p.controller.abort();
      onQuitRef.current?.(pending.map((p) => p.done));
    };
  }, []);

  useEffect(() => {
    if (!state.quit) return;
    const pending = [...inFlight.current.values()];
    for (const p of pending) p.controller.abort();
    onQuit?.(pending.map((p) => p.done));
    exit();
  }, [state.quit, exit, onQuit]);

  return <Screen state={state} now={now} {...(host.browse ? { browser: { host: host.browse, close: closeBrowser, keysActive: isRawModeSupported === true } } : {})} />;
}

/** The layout for a state: header, the current screen, the prompt or question, the status bar. */
export function Screen({ state, now, browser }: { state: TuiState; now: Date; browser?: { host: BrowseHost; close(): void; keysActive: boolean } }) {
  const { columns, rows } = state.size;
  // One row short of the terminal: a frame as tall as the screen makes Ink clear and redraw it on every change.
  const height = Math.max(10, rows - 1);
  const bodyRows = height - 4 - (state.prompt ? 1 + (state.prompt.completions.length > 0 ? 1 : 0) : 0) - (state.confirm ? 2 : 0);
  const snapshot = state.snapshot;
  const rb = selectedRunbook(state);
  let body;
  if (state.help) body = <Help />;
  else if (state.browse !== undefined && browser) body = <Browser host={browser.host} runbook={state.browse} columns={columns} rows={bodyRows} onClose={browser.close} keysActive={browser.keysActive} />;
  else
    switch (state.screen) {
      case 'dashboard':
        body = <Dashboard runbooks={snapshot?.runbooks ?? []} selected={state.selected} runs={state.runs} now={now} columns={columns} loading={!snapshot} {...(snapshot?.hosts ? { hosts: snapshot.hosts } : {})} />;
        break;
      case 'run':
        body = <RunView run={focusedRun(state)} runs={state.runs} now={now} columns={columns} rows={bodyRows} />;
        break;
      case 'history':
        body = <History runbook={rb?.name} entries={historyEntries(state)} cursor={state.history.cursor} detail={state.history.detail} filter={state.history.filter} now={now} rows={bodyRows} />;
        break;
      case 'alerts':
        body = <AlertsPane alerts={snapshot?.alerts ?? []} cursor={state.alertCursor} now={now} rows={bodyRows} />;
        break;
      case 'output':
        body = <OutputView command={outputCommand(state)} rows={bodyRows} />;
        break;
      case 'hosts':
        body = <HostsPane hosts={snapshot?.hosts ?? []} now={now} columns={columns} rows={bodyRows} />;
        break;
    }
  return (
    <Box flexDirection="column" width={columns} height={height}>
      <Header screen={state.screen} openAlerts={snapshot?.alerts.length ?? 0} />
      <Box flexDirection="column" flexGrow={1} overflow="hidden" marginTop={1}>
        {body}
      </Box>
      {state.confirm && <ConfirmPrompt question={state.confirm.question} />}
      {state.prompt && <CommandPrompt text={state.prompt.text} completions={state.prompt.completions} />}
      <StatusBar running={runningCommands(state)} message={state.message} loadedAt={snapshot?.loadedAt} loadError={state.loadError} now={now} />
    </Box>
  );
}
