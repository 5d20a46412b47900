import type { DockState } from '@telemy/protocol/dock';
import { EventsPanel } from '../components/events.js';
import { FailoverPanel } from '../components/failover.js';
import { FeedPanel } from '../components/feed.js';
import { HeaderBar } from '../components/header.js';
import { OutputsPanel } from '../components/outputs.js';
import { RelayPanel } from '../components/relay.js';
import { ScenesPanel } from '../components/scenes.js';
import { StatusLine } from '../components/status-line.js';
import { ChatPanel, SystemPanel } from '../components/system.js';
import { TogglesPanel } from '../components/toggles.js';

/**
 * The dock (one column, 300–500 px) and the dashboard (a grid at desktop width) show the same
 * panels; only the layout class and how many events are listed differ.
 */
export function Overview({ state, layout }: { state: DockState; layout: 'dock' | 'dashboard' }) {
  return (
    <div class={`overview layout-${layout}`}>
      <StatusLine status={state.status} />
      <HeaderBar header={state.header} live={state.live} />
      <div class="panels">
        <ScenesPanel scenes={state.scenes} streaming={state.live.streaming} />
        <FeedPanel feed={state.feed} />
        <FailoverPanel failover={state.failover} />
        <TogglesPanel settings={state.settings} mode={state.header.mode} />
        <OutputsPanel outputs={state.outputs} />
        <RelayPanel relay={state.relay} links={state.links} />
        <ChatPanel chat={state.chat} />
        <SystemPanel system={state.system} />
        <EventsPanel events={state.events} limit={layout === 'dock' ? 30 : 200} />
      </div>
    </div>
  );
}
