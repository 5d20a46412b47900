import { render } from 'preact';
import { App } from './app.js';
import { DockConnection, dockSocketUrl, takeToken } from './connection.js';
import { ConnectionContext } from './context.js';
import './styles.css';

function storages(): Storage[] {
  const out: Storage[] = [];
  for (const get of [() => window.sessionStorage, () => window.localStorage]) {
    try {
      out.push(get());
    } catch {
      // A sandboxed page may not have storage; the token then lives only as long as the page.
    }
  }
  return out;
}

const stores = storages();
const token = takeToken(window.location, window.history, stores);
/** The shim's failure page answers `/healthz` with 503 `{status:'failed', error}` once it gave up. */
async function probeFailure(): Promise<string | null> {
  const r = await fetch('/healthz', { cache: 'no-store' });
  if (r.status !== 503) return null;
  const body = (await r.json()) as { status?: unknown; error?: unknown };
  return body.status === 'failed' ? String(body.error ?? 'see the log') : null;
}

const conn = new DockConnection(
  token ? dockSocketUrl(window.location, token) : null,
  (u) => new WebSocket(u),
  probeFailure,
);
conn.start();

const root = document.getElementById('app');
if (root) {
  render(
    <ConnectionContext.Provider value={conn}>
      <App />
    </ConnectionContext.Provider>,
    root,
  );
}
