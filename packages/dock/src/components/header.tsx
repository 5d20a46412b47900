import type { DockHeader, DockLive } from '@telemy/protocol/dock';
import { elapsed } from '../format.js';
import { Badge, type Tone } from './ui.js';

const ENGINE_TONE: Record<DockHeader['engine_state'], [Tone, string]> = {
  STUDIO: ['ok', '●'],
  IRL_CONNECTING: ['info', '◌'],
  IRL_ACTIVE: ['ok', '●'],
  IRL_GRACE: ['warn', '◐'],
  DEGRADED: ['warn', '▲'],
  FATAL: ['bad', '✖'],
};

const OBS_LABEL: Record<DockHeader['obs']['status'], [Tone, string, string]> = {
  connected: ['ok', '✔', 'OBS connected'],
  connecting: ['info', '◌', 'OBS connecting…'],
  disconnected: ['bad', '✖', 'OBS not connected'],
  auth_failed: ['bad', '✖', 'OBS password wrong'],
};

const IPC_LABEL: Record<DockHeader['ipc'], [Tone, string, string]> = {
  ok: ['ok', '✔', 'shim link ok'],
  degraded: ['warn', '▲', 'shim link degraded'],
  down: ['bad', '✖', 'shim link down'],
  not_used: ['idle', '–', 'no shim'],
};

export function HeaderBar({ header, live }: { header: DockHeader; live: DockLive }) {
  const [tone, icon] = ENGINE_TONE[header.engine_state];
  const [oTone, oIcon, oText] = OBS_LABEL[header.obs.status];
  const [iTone, iIcon, iText] = IPC_LABEL[header.ipc];
  return (
    <div class="statusbar" data-testid="statusbar">
      <div class="statusline">
        <Badge tone="info" icon={header.mode === 'irl' ? '⇅' : '◆'}>
          {header.mode === 'irl' ? 'IRL' : 'Studio'}
        </Badge>
        <Badge tone={tone} icon={icon}>
          <span data-testid="engine-state">{header.engine_state.replace('_', ' ')}</span>
        </Badge>
        <Badge tone={oTone} icon={oIcon}>
          {oText}
        </Badge>
        <Badge tone={iTone} icon={iIcon}>
          {iText}
        </Badge>
      </div>
      {header.obs.detail ? <p class="detail">{header.obs.detail}</p> : null}
      <div class="statusline live">
        <LiveBadge
          on={live.streaming}
          onText="LIVE"
          offText="not streaming"
          seconds={live.stream_elapsed_s}
        />
        <LiveBadge on={live.recording} onText="REC" offText="not recording" seconds={live.record_elapsed_s} />
      </div>
    </div>
  );
}

function LiveBadge(props: { on: boolean | null; onText: string; offText: string; seconds: number | null }) {
  if (props.on === null) {
    return (
      <Badge tone="idle" icon="?">
        {props.offText.replace('not ', '')} unknown
      </Badge>
    );
  }
  return props.on ? (
    <Badge tone="bad" icon="●">
      {props.onText} <span class="num">{elapsed(props.seconds)}</span>
    </Badge>
  ) : (
    <Badge tone="idle" icon="■">
      {props.offText}
    </Badge>
  );
}
