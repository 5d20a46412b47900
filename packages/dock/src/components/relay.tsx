import type { DockLinks, DockRelay } from '@telemy/protocol/dock';
import { duration, kbps, ms, pct } from '../format.js';
import { ActionStatus, useAction } from './action-status.js';
import { Badge, Muted, Panel, Row, type Tone } from './ui.js';

const STATUS: Record<DockRelay['status'], [Tone, string, string]> = {
  not_configured: ['idle', '–', 'not configured'],
  inactive: ['idle', '■', 'inactive'],
  provisioning: ['info', '◌', 'starting…'],
  active: ['ok', '✔', 'active'],
  grace: ['warn', '◐', 'grace'],
  stopping: ['info', '◌', 'stopping…'],
};

export function RelayPanel({ relay, links }: { relay: DockRelay; links: DockLinks }) {
  const [send, result] = useAction();
  const [tone, icon, text] = STATUS[relay.status];
  const running = relay.status === 'active' || relay.status === 'grace' || relay.status === 'provisioning';
  return (
    <Panel
      id="relay"
      title="Cloud relay"
      extra={
        <Badge tone={tone} icon={icon}>
          <span data-testid="relay-status">{text}</span>
        </Badge>
      }
    >
      {relay.status === 'not_configured' ? (
        <Muted>The cloud relay is not configured. Set it up under Settings → Cloud.</Muted>
      ) : (
        <>
          {relay.detail && <p class="detail">{relay.detail}</p>}
          <div class="grid2">
            <Row label="Region">{relay.region ?? '—'}</Row>
            <Row label="Uptime">{duration(relay.uptime_s)}</Row>
            <Row label="Latency">{ms(relay.latency_ms)}</Row>
            <Row label="Instance">{relay.instance ?? '—'}</Row>
            {relay.grace_remaining_s !== null && (
              <Row label="Grace left">{duration(relay.grace_remaining_s)}</Row>
            )}
          </div>
          {relay.phone_address && (
            <Row label="Phone address">
              <span data-testid="relay-phone-address">{relay.phone_address.host}</span>{' '}
              <span class="muted-inline">({relay.phone_address.reason})</span>
            </Row>
          )}
          {relay.time_bank && (
            <div class="timebank">
              <Row label="Time Bank">
                {duration(relay.time_bank.left_s)} left · {duration(relay.time_bank.used_s)} used (
                {pct(relay.time_bank.used_pct)})
              </Row>
              <meter min={0} max={100} value={relay.time_bank.used_pct} aria-label="Time Bank used" />
            </div>
          )}
          <div class="buttons">
            {running ? (
              <button type="button" onClick={() => send({ type: 'relay_stop' })}>
                ■ Stop relay
              </button>
            ) : (
              <button type="button" onClick={() => send({ type: 'relay_start' })}>
                ▶ Start relay
              </button>
            )}
            {relay.status === 'active' && (
              <button type="button" onClick={() => send({ type: 'fix_media_sources' })}>
                ⟳ Fix OBS media source
              </button>
            )}
          </div>
          <ActionStatus result={result} what={(result?.action ?? '').replace('_', ' ')} />
          <Pairing relay={relay} />
          <Links links={links} />
        </>
      )}
    </Panel>
  );
}

function Pairing({ relay }: { relay: DockRelay }) {
  const [send] = useAction();
  const p = relay.pairing;
  if (!p.available) return null;
  if (!p.revealed) {
    return (
      <div class="pairing">
        <button type="button" onClick={() => send({ type: 'reveal_pairing', reveal: true })}>
          ◉ Reveal phone pairing
        </button>
      </div>
    );
  }
  return (
    <div class="pairing revealed">
      <Row label="Phone SRT URL">
        <code class="url">{p.srt_url}</code>
      </Row>
      {/* The engine renders this SVG with the qrcode library from the pairing URL; it holds only paths. */}
      <div
        class="qr"
        role="img"
        aria-label="QR code of the phone SRT URL"
        dangerouslySetInnerHTML={{ __html: p.qr_svg }}
      />
      {p.srtla_url ? (
        <Row label="Bonding (SRTLA) URL">
          <code class="url">{p.srtla_url}</code>
        </Row>
      ) : null}
      <Row label="OBS source URL">
        <code class="url">{p.obs_source_url}</code>
      </Row>
      <button type="button" onClick={() => send({ type: 'reveal_pairing', reveal: false })}>
        Hide pairing
      </button>
    </div>
  );
}

function Links({ links }: { links: DockLinks }) {
  if (links.status === 'not_configured') return null;
  if (links.status === 'inactive') return <Muted>Relay not running.</Muted>;
  if (links.status === 'waiting') return <Muted>Waiting for relay telemetry…</Muted>;
  return (
    <ul class="links">
      {links.rows.map((l) => (
        <li key={l.label} data-link={l.label}>
          <span class="bars" role="img" aria-label={`signal ${l.signal} of 5`}>
            {'▮'.repeat(l.signal)}
            <span class="bars-off">{'▯'.repeat(5 - l.signal)}</span>
          </span>
          <span class="link-label">{l.label}</span>
          <span class="muted-inline link-stats">
            {l.status} · {kbps(l.bitrate_kbps)} · {ms(l.rtt_ms)} · loss {pct(l.loss_pct, 1)} · jitter{' '}
            {ms(l.jitter_ms)}
          </span>
        </li>
      ))}
    </ul>
  );
}
