import type { DockEvent } from '@telemy/protocol/dock';
import { useConnection } from '../context.js';
import { clock } from '../format.js';
import { Muted, Panel } from './ui.js';

const LEVEL: Record<DockEvent['level'], string> = { info: 'ℹ', warn: '⚠', error: '✖' };

export function EventsPanel({ events, limit }: { events: DockEvent[]; limit: number }) {
  const [conn] = useConnection();
  const newest = events.slice(-limit).reverse();
  return (
    <Panel id="events" title={`Events (${events.length})`}>
      {newest.length === 0 ? (
        <Muted>No events yet.</Muted>
      ) : (
        <ol class="events" data-testid="events">
          {newest.map((e) => (
            <li key={e.id} class={`event level-${e.level}${e.acked ? ' acked' : ''}`}>
              <span class="event-time num">{clock(e.at_ms)}</span>
              <span class="event-level" title={e.level}>
                <span aria-hidden="true">{LEVEL[e.level]}</span>
                <span class="sr-only">{e.level}</span>
              </span>
              <span class="event-text">
                {e.text}
                {e.request_id && <span class="muted-inline"> [{e.request_id}]</span>}
              </span>
              {e.level !== 'info' && !e.acked && (
                <button
                  type="button"
                  class="small"
                  onClick={() => conn.send({ type: 'ack_event', event_id: e.id })}
                >
                  ack
                </button>
              )}
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
