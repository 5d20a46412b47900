import { useEffect, useState } from 'preact/hooks';
import type { ConnectionSnapshot } from './connection.js';
import { useConnection } from './context.js';
import { Overview } from './pages/overview.js';
import { SettingsPage } from './pages/settings.js';

type Route = 'dock' | 'dashboard' | 'settings';

function routeOf(hash: string): Route {
  if (hash.startsWith('#/dashboard')) return 'dashboard';
  if (hash.startsWith('#/settings')) return 'settings';
  return 'dock';
}

export function App() {
  const [, snap] = useConnection();
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  useEffect(() => {
    const on = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const stale = snap.phase !== 'open';
  return (
    <div class={`app route-${route}${stale ? ' is-stale' : ''}`}>
      <nav class="topnav">
        <span class="brand">Telemy</span>
        <a href="#/" aria-current={route === 'dock' ? 'page' : undefined}>
          Dock
        </a>
        <a href="#/dashboard" aria-current={route === 'dashboard' ? 'page' : undefined}>
          Dashboard
        </a>
        <a href="#/settings" aria-current={route === 'settings' ? 'page' : undefined}>
          Settings
        </a>
      </nav>
      <ConnectionBanner snap={snap} />
      {snap.state ? (
        route === 'settings' ? (
          <SettingsPage state={snap.state} />
        ) : (
          <Overview state={snap.state} layout={route === 'dashboard' ? 'dashboard' : 'dock'} />
        )
      ) : null}
      {snap.state ? (
        <footer class="app-footer muted" data-testid="footer">
          Telemy {snap.state.header.version}
        </footer>
      ) : null}
    </div>
  );
}

/** Always takes the same space, so the page does not jump when the link drops or comes back. */
function ConnectionBanner({ snap }: { snap: ConnectionSnapshot }) {
  let text: string;
  let tone: string;
  switch (snap.phase) {
    case 'open':
      text = '✔ Connected to the engine';
      tone = 'ok';
      break;
    case 'connecting':
      text = '◌ Connecting to the engine…';
      tone = 'info';
      break;
    case 'down':
      text = `✖ Engine not running${snap.detail ? ` (${snap.detail})` : ''} · retry ${snap.attempts}`;
      tone = 'bad';
      break;
    case 'restarting':
      text = `◌ Engine restarting${snap.detail ? ` (${snap.detail})` : ''}…`;
      tone = 'warn';
      break;
    case 'failed':
      text = `✖ Engine failed twice: ${snap.detail ?? 'see the log'}`;
      tone = 'bad';
      break;
    case 'no_token':
      text = '✖ No access token. Open the dock URL that `telemy start` prints (it ends in ?token=…).';
      tone = 'bad';
      break;
  }
  return (
    <div
      class={`conn-banner tone-${tone}`}
      role="status"
      aria-live="polite"
      data-testid="conn-banner"
      data-phase={snap.phase}
    >
      {text}
    </div>
  );
}
