import type { DockFeed } from '@telemy/protocol/dock';
import { kbps, ms, pct } from '../format.js';
import { Sparkline } from './sparkline.js';
import { Badge, Panel, Row, type Tone } from './ui.js';

const FEED: Record<DockFeed['classification'], [Tone, string, string]> = {
  normal: ['ok', '✔', 'Feed normal'],
  low: ['warn', '▼', 'Feed low'],
  offline: ['bad', '✖', 'Feed offline'],
  unknown: ['idle', '?', 'Feed unknown'],
};

export function FeedPanel({ feed }: { feed: DockFeed }) {
  const [tone, icon, text] = FEED[feed.classification];
  const th = feed.thresholds;
  return (
    <Panel
      id="feed"
      title="Feed"
      extra={
        <Badge tone={tone} icon={icon}>
          <span data-testid="feed-class">{text}</span>
        </Badge>
      }
    >
      {feed.reason && <p class="detail">{feed.reason}</p>}
      <div class="grid3">
        <Row label="Bitrate">
          <span class="num">{kbps(feed.bitrate_kbps)}</span>
        </Row>
        <Row label="RTT">
          <span class="num">{ms(feed.rtt_ms)}</span>
        </Row>
        <Row label="Loss">
          <span class="num">{pct(feed.loss_pct, 1)}</span>
        </Row>
      </div>
      <Row label="Source">{feed.source ?? 'none configured'}</Row>
      <Sparkline
        label="Bitrate"
        t={feed.history.t}
        values={feed.history.bitrate_kbps}
        windowMs={feed.history.window_ms}
        marks={[
          { value: th.low_bitrate_kbps, label: `low ${kbps(th.low_bitrate_kbps)}` },
          { value: th.offline_bitrate_kbps, label: `offline ${kbps(th.offline_bitrate_kbps)}` },
        ]}
        format={kbps}
      />
      <Sparkline
        label="RTT"
        t={feed.history.t}
        values={feed.history.rtt_ms}
        windowMs={feed.history.window_ms}
        marks={[
          { value: th.low_rtt_ms, label: `low ${ms(th.low_rtt_ms)}` },
          { value: th.offline_rtt_ms, label: `offline ${ms(th.offline_rtt_ms)}` },
        ]}
        format={ms}
      />
      <p class="thresholds">
        {`Thresholds: low ≤ ${kbps(th.low_bitrate_kbps)} or RTT ≥ ${th.low_rtt_ms ? ms(th.low_rtt_ms) : 'off'}, `}
        {`offline ≤ ${kbps(th.offline_bitrate_kbps)}${th.offline_rtt_ms ? ` or RTT ≥ ${ms(th.offline_rtt_ms)}` : ''}`}
      </p>
    </Panel>
  );
}
