import type { FeedClass, Mode } from '@telemy/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RelaySignal } from '../../src/cloudlink/relay-signals.js';
import type { FailoverInput } from '../../src/failover/machine.js';
import { type ModeState, type ModeTrigger, transition } from '../../src/failover/modes.js';
import { Sim, sig } from './sim.js';

const feedClass = fc.constantFrom<FeedClass>('normal', 'low', 'offline', 'unknown');
const relaySignal = fc.constantFrom<() => RelaySignal>(
  () => sig.accepted(),
  () => sig.accepted(true),
  sig.denied,
  sig.timeout,
  sig.ended,
  sig.telemetryUp,
  sig.telemetryDown,
  sig.ingestActive,
  sig.ingestInactive,
  () => sig.stalled(0),
  () => sig.resumed(0),
  () => ({ kind: 'grace', session_id: 's1', remaining_seconds: 30 }),
);

type Step = { advance: number; input: FailoverInput | 'confirm' | 'fail' };

const step: fc.Arbitrary<Step> = fc.record({
  advance: fc.constantFrom(0, 10, 100, 250, 500, 1000, 5000, 700_000),
  input: fc.oneof(
    {
      weight: 6,
      arbitrary: feedClass.map(
        (h): FailoverInput => ({ kind: 'feed', feed: { health: h, source: 'x', reason: null } }),
      ),
    },
    { weight: 4, arbitrary: relaySignal.map((f): FailoverInput => ({ kind: 'relay', signal: f() })) },
    {
      weight: 2,
      arbitrary: fc
        .record({ ready: fc.boolean(), via: fc.constantFrom<'ipc' | 'obs'>('ipc', 'obs') })
        .map((r): FailoverInput => ({ kind: 'scene_path', ...r })),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('LIVE', 'LOW', 'BRB', 'OFFLINE', 'Privacy', null)
        .map((scene): FailoverInput => ({ kind: 'program_scene', scene })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<FailoverInput>(
        { kind: 'protocol_error_storm', detail: 'storm' },
        { kind: 'tick' },
        { kind: 'fatal', reason: 'x' },
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ manual_override: fc.boolean(), auto_scene_switch: fc.boolean() })
        .map((flags): FailoverInput => ({ kind: 'flags', flags })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('LIVE', 'BRB', 'OFFLINE')
        .map((i): FailoverInput => ({ kind: 'command', command: { intent: i as 'LIVE' }, origin: 'dock' })),
    },
    { weight: 1, arbitrary: fc.constant<Step['input']>('confirm') },
    { weight: 1, arbitrary: fc.constant<Step['input']>('fail') },
  ),
});

function run(steps: Step[]): Sim {
  const s = new Sim();
  for (const st of steps) {
    s.advance(st.advance);
    if (st.input === 'confirm' || st.input === 'fail') {
      const f = s.state.inFlight;
      if (f)
        s.send({ kind: 'switch_result', requestId: f.requestId, ok: st.input === 'confirm', error: null });
    } else {
      s.send(st.input);
    }
  }
  return s;
}

describe('failover engine properties', () => {
  it('no mode transition outside the table, for any sequence of signals', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const s = run(steps);
        let ms: ModeState = { mode: 'STUDIO', before: null };
        for (const a of s.actions) {
          if (a.type !== 'mode_transition') continue;
          expect(a.from).toBe(ms.mode);
          // DEGRADED returns to the IRL sub-machine's mode, whose own moves are checked below.
          if (a.from === 'DEGRADED' && a.to !== 'FATAL')
            expect(['STUDIO', 'IRL_CONNECTING', 'IRL_ACTIVE', 'IRL_GRACE']).toContain(a.to);
          const before = a.from === 'DEGRADED' ? a.to : ms.before;
          const r = transition({ mode: a.from, before }, a.to, a.trigger);
          expect(r.ok, `${a.from} → ${a.to} (${a.trigger})`).toBe(true);
          if (r.ok) ms = { mode: r.mode, before: r.before };
        }
        for (const e of s.events.filter((x) => x.kind === 'irl_transition')) {
          const d = e.data as { from: Mode; to: Mode; trigger: ModeTrigger };
          expect(transition({ mode: d.from, before: null }, d.to, d.trigger).ok).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('no switch is ever emitted while the scene path is down', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const s = run(steps);
        for (const d of s.decisions) {
          if (d.actions.some((a) => a.type === 'switch')) expect(d.state.scenePathReady).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('every emitted switch carries a unique request id, a rule and a reason', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const s = run(steps);
        const ids = s.switches().map((x) => x.requestId);
        expect(new Set(ids).size).toBe(ids.length);
        for (const sw of s.switches()) {
          expect(sw.requestId).toMatch(/^test-\d+$/);
          expect(['auto_failover', 'auto_recover', 'chat_command', 'manual']).toContain(sw.reason);
          expect(['command', 'local_failover', 'cloud_signal', 'recovery']).toContain(sw.rule);
          expect(sw.why).toMatch(/\S/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a feed oscillating faster than the recovery window causes at most one switch', () => {
    // Runs of 1-2 samples (500-1000 ms) of each class: never long enough for recover_after_ms (1500 ms).
    const run = fc.record({
      health: fc.constantFrom<FeedClass>('normal', 'low', 'offline'),
      samples: fc.integer({ min: 1, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(run, { minLength: 2, maxLength: 120 }), (runs) => {
        const s = new Sim().ready('LIVE');
        s.samples('normal', 4);
        let last: FeedClass = 'normal';
        for (const r of runs) {
          const health: FeedClass = r.health === last ? (last === 'normal' ? 'low' : 'normal') : r.health;
          last = health;
          for (let i = 0; i < r.samples; i++) {
            s.advance(500);
            s.feed(health);
            const f = s.state.inFlight;
            if (f) {
              s.send({ kind: 'program_scene', scene: f.scene });
              s.send({ kind: 'switch_result', requestId: f.requestId, ok: true, error: null });
            }
          }
        }
        expect(s.switches().length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
