import type { FeedClass } from '@telemy/protocol';
import type { RelaySignal } from '../../src/cloudlink/relay-signals.js';
import type { DraftEvent } from '../../src/failover/events.js';
import {
  createFailoverState,
  currentMode,
  type Decision,
  decide,
  type FailoverAction,
  type FailoverInput,
  type FailoverState,
  type SwitchAction,
} from '../../src/failover/machine.js';
import {
  AUTOMATION_DEFAULTS,
  FAILOVER_DEFAULTS,
  type FailoverParams,
  SCENE_DEFAULTS,
} from '../../src/failover/params.js';

/** Drives `decide()` over a fake clock and keeps everything it emitted. */
export class Sim {
  state: FailoverState;
  t = 1_000_000;
  readonly actions: Array<FailoverAction & { at: number }> = [];
  readonly events: DraftEvent[] = [];
  readonly decisions: Decision[] = [];

  constructor(params: Partial<FailoverParams> = {}) {
    this.state = createFailoverState({
      params: { ...FAILOVER_DEFAULTS, ...params },
      flags: { ...AUTOMATION_DEFAULTS },
      scenes: { ...SCENE_DEFAULTS },
      idPrefix: 'test',
      now: this.t,
    });
  }

  get mode() {
    return currentMode(this.state);
  }

  send(input: FailoverInput): Decision {
    const d = decide(this.state, input, this.t);
    this.state = d.state;
    this.decisions.push(d);
    for (const a of d.actions) this.actions.push({ ...a, at: this.t });
    this.events.push(...d.events);
    return d;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  /** OBS connected with `scene` on air, streaming unless told otherwise. */
  ready(scene = 'LIVE', streaming = true): this {
    this.send({ kind: 'scene_path', ready: true, via: 'obs' });
    this.send({ kind: 'program_scene', scene });
    if (streaming) this.send({ kind: 'stream_status', active: true });
    return this;
  }

  feed(health: FeedClass, reason: string | null = null): Decision {
    return this.send({ kind: 'feed', feed: { health, source: 'srt', reason } });
  }

  /** `n` samples of `health`, one per sample interval (the first one now). */
  samples(health: FeedClass, n: number, interval = 500): void {
    for (let i = 0; i < n; i++) {
      if (i > 0) this.advance(interval);
      this.feed(health);
    }
  }

  relay(signal: RelaySignal): Decision {
    return this.send({ kind: 'relay', signal });
  }

  switches(): Array<SwitchAction & { at: number }> {
    return this.actions.filter((a): a is SwitchAction & { at: number } => a.type === 'switch');
  }

  /** Confirms the last switch the way OBS and the switcher would: scene-changed event, then the result. */
  confirm(ok = true): void {
    const last = this.switches().at(-1);
    if (!last) throw new Error('no switch to confirm');
    if (ok) this.send({ kind: 'program_scene', scene: last.scene });
    this.send({
      kind: 'switch_result',
      requestId: last.requestId,
      ok,
      error: ok ? null : { code: 'obs_rejected', message: 'failed' },
    });
  }

  modeTrail(): string[] {
    return this.actions.flatMap((a) => (a.type === 'mode_transition' ? [`${a.from}>${a.to}`] : []));
  }
}

export const SID = 's1';
export const sig = {
  accepted: (restored = false): RelaySignal => ({
    kind: 'session_accepted',
    session_id: SID,
    status: 'provisioning',
    restored,
  }),
  denied: (): RelaySignal => ({
    kind: 'session_denied',
    reason: 'time_bank_exhausted',
    message: 'no time left',
  }),
  timeout: (): RelaySignal => ({ kind: 'session_timeout', session_id: SID }),
  ended: (): RelaySignal => ({ kind: 'session_ended', session_id: SID, reason: 'stopped' }),
  telemetryUp: (): RelaySignal => ({ kind: 'telemetry_connected', session_id: SID }),
  telemetryDown: (): RelaySignal => ({ kind: 'telemetry_disconnected', session_id: SID, reason: 'closed' }),
  ingestActive: (): RelaySignal => ({ kind: 'ingest_active', session_id: SID }),
  ingestInactive: (): RelaySignal => ({ kind: 'ingest_inactive', session_id: SID }),
  stalled: (at: number): RelaySignal => ({
    kind: 'ingest_stalled',
    session_id: SID,
    link_id: null,
    at,
    received_at: at,
  }),
  resumed: (at: number): RelaySignal => ({
    kind: 'ingest_resumed',
    session_id: SID,
    link_id: null,
    at,
    received_at: at,
  }),
};
