import type { DockFailover } from '@telemy/protocol/dock';
import { clock, ms } from '../format.js';
import { Badge, Panel, Row, type Tone } from './ui.js';

const HEALTH: Record<DockFailover['health'], [Tone, string]> = {
  good: ['ok', '✔'],
  degraded: ['warn', '▲'],
  offline: ['bad', '✖'],
  unknown: ['idle', '?'],
};

export function FailoverPanel({ failover }: { failover: DockFailover }) {
  const [tone, icon] = HEALTH[failover.health];
  const last = failover.last;
  return (
    <Panel
      id="failover"
      title="Failover"
      extra={
        <Badge tone={tone} icon={icon}>
          health {failover.health}
        </Badge>
      }
    >
      <Row label="Last automatic switch" stacked>
        {last ? (
          <span data-testid="last-switch">
            {clock(last.at_ms)} → <strong>{last.scene}</strong>: {last.reason}{' '}
            <span class="muted-inline">
              (rule {last.rule}, {last.request_id})
            </span>
          </span>
        ) : (
          'none this session'
        )}
      </Row>
      <div class="grid3">
        <Row label="This session">
          <span class="num">{failover.count_session}</span>
        </Row>
        <Row label="Detect→switch">
          <span class="num">{ms(failover.last_detection_to_switch_ms)}</span>
        </Row>
        <Row label="Budget">
          <span class="num">{ms(failover.response_budget_ms)}</span>
        </Row>
      </div>
    </Panel>
  );
}
