import type { DockOutputRow, DockOutputs } from '@telemy/protocol/dock';
import { kbps, ms, num, pct } from '../format.js';
import { Badge, Muted, Panel, type Tone } from './ui.js';

const STATUS: Record<DockOutputRow['status'], [Tone, string]> = {
  healthy: ['ok', '✔'],
  degraded: ['warn', '▲'],
  critical: ['bad', '✖'],
  offline: ['idle', '■'],
};

function OutputRow({ o }: { o: DockOutputRow }) {
  const [tone, icon] = STATUS[o.status];
  return (
    <li class="output" data-output={o.id}>
      <div class="output-main">
        <span class="output-name" title={o.id}>
          {o.display_name}
        </span>
        <Badge tone={tone} icon={icon}>
          {o.status}
        </Badge>
        <span class="num output-bitrate">{kbps(o.bitrate_kbps)}</span>
      </div>
      <div class="output-stats num">
        {num(o.fps)} fps · drop {pct(o.drop_pct, 1)} · lag {ms(o.encoding_lag_ms)}
      </div>
    </li>
  );
}

function OutputList({ rows }: { rows: DockOutputRow[] }) {
  return (
    <ul class="outputs">
      {rows.map((o) => (
        <OutputRow key={o.id} o={o} />
      ))}
    </ul>
  );
}

export function OutputsPanel({ outputs }: { outputs: DockOutputs }) {
  return (
    <Panel id="outputs" title="Outputs">
      {!outputs.available ? (
        <Muted>No output metrics (OBS not connected).</Muted>
      ) : outputs.groups.length === 0 && outputs.hidden.length === 0 ? (
        <Muted>OBS reports no outputs.</Muted>
      ) : null}
      {outputs.groups.map((g) => (
        <div class="output-group" key={g.name} data-group={g.name}>
          <h3>
            {g.name}{' '}
            <span class="muted-inline">
              {g.totals.active}/{g.totals.count} active · {kbps(g.totals.bitrate_kbps)}
            </span>
          </h3>
          <OutputList rows={g.outputs} />
        </div>
      ))}
      {outputs.hidden.length > 0 && (
        <details class="hidden-outputs">
          <summary>Hidden outputs ({outputs.hidden.length})</summary>
          <OutputList rows={outputs.hidden} />
        </details>
      )}
    </Panel>
  );
}
