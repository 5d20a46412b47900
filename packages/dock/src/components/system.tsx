import type { DockChat, DockSystem } from '@telemy/protocol/dock';
import { kbps, pct, quotaPace } from '../format.js';
import { Badge, Muted, Panel, Row, type Tone } from './ui.js';

export function SystemPanel({ system }: { system: DockSystem }) {
  return (
    <Panel id="system" title="System">
      {!system.available ? (
        <Muted>System load not measured.</Muted>
      ) : (
        <div class="grid2">
          <Row label="CPU">
            <meter min={0} max={100} high={85} value={system.cpu_pct} aria-label="CPU" />{' '}
            <span class="num">{pct(system.cpu_pct)}</span>
          </Row>
          <Row label="Memory">
            <meter min={0} max={100} high={90} value={system.mem_used_pct} aria-label="Memory" />{' '}
            <span class="num">{pct(system.mem_used_pct)}</span>
          </Row>
          <Row label="GPU">
            {system.gpu_pct === null ? 'not available' : <span class="num">{pct(system.gpu_pct)}</span>}
          </Row>
          <Row label="Network">
            {/* Two pieces, so they wrap apart rather than widen a 300 px dock. */}
            <span class="num">↑ {kbps(system.net_up_kbps)}</span>{' '}
            <span class="num">↓ {kbps(system.net_down_kbps)}</span>
          </Row>
        </div>
      )}
    </Panel>
  );
}

const PLATFORM_NAMES: Record<string, string> = { twitch: 'Twitch', kick: 'Kick', youtube: 'YouTube' };

const CHAT: Record<string, [Tone, string]> = {
  connected: ['ok', '✔'],
  connecting: ['info', '◌'],
  disconnected: ['bad', '✖'],
  error: ['bad', '✖'],
};

export function ChatPanel({ chat }: { chat: DockChat }) {
  return (
    <Panel id="chat" title="Chat">
      {!chat.configured ? (
        <Muted>No chat platform configured.</Muted>
      ) : (
        <ul class="chat">
          {chat.platforms.map((p) => {
            const [tone, icon] = CHAT[p.status] ?? ['idle', '?'];
            return (
              <li key={p.platform}>
                <strong>{p.platform}</strong> <span class="muted-inline">#{p.channel}</span>{' '}
                <Badge tone={tone} icon={icon}>
                  {p.status}
                </Badge>
                {p.auth === 'revoked' && (
                  <Badge tone="bad" icon="✖">
                    {PLATFORM_NAMES[p.platform] ?? p.platform}: sign in again
                  </Badge>
                )}
                {p.account && <span class="muted-inline"> as {p.account}</span>}
                {p.read_only && (
                  <Badge tone="warn" icon="◉">
                    read-only
                  </Badge>
                )}
                {p.quota_left !== null && <span class="muted-inline"> quota left {p.quota_left}</span>}
                {p.quota_pace && (
                  <p class="detail" data-testid={`quota-pace-${p.platform}`}>
                    {quotaPace(p.quota_pace, Date.now())}
                  </p>
                )}
                {p.detail && <p class="detail">{p.detail}</p>}
              </li>
            );
          })}
        </ul>
      )}
    </Panel>
  );
}
