import { MODES, type Mode } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { type ModeTrigger, TRANSITIONS, transition } from '../../src/failover/modes.js';

describe('transition table', () => {
  it('accepts every row of the table with its triggers', () => {
    for (const row of TRANSITIONS) {
      const froms: Mode[] =
        row.from === 'any' ? MODES.filter((m) => m !== row.to && m !== 'FATAL') : [row.from];
      for (const from of froms) {
        for (const trigger of row.triggers) {
          const r = transition({ mode: from, before: null }, row.to, trigger);
          expect(r, `${from} → ${row.to} (${trigger})`).toMatchObject({ ok: true, mode: row.to });
        }
      }
    }
  });

  it('rejects transitions outside the table with a reason', () => {
    const illegal: Array<[Mode, Mode, ModeTrigger]> = [
      ['STUDIO', 'IRL_ACTIVE', 'relay_connected'],
      ['STUDIO', 'IRL_GRACE', 'telemetry_lost'],
      ['IRL_CONNECTING', 'IRL_GRACE', 'telemetry_lost'],
      ['IRL_ACTIVE', 'IRL_CONNECTING', 'irl_start_accepted'],
      ['IRL_GRACE', 'IRL_CONNECTING', 'irl_start_accepted'],
      ['IRL_ACTIVE', 'STUDIO', 'grace_expired'],
      ['FATAL', 'STUDIO', 'dependency_healthy'],
      ['FATAL', 'DEGRADED', 'ipc_failures'],
    ];
    for (const [from, to, trigger] of illegal) {
      const r = transition({ mode: from, before: null }, to, trigger);
      expect(r.ok, `${from} → ${to}`).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/\S/);
    }
  });

  it('DEGRADED remembers the mode before it and returns only there', () => {
    const entered = transition({ mode: 'IRL_ACTIVE', before: null }, 'DEGRADED', 'ipc_failures');
    expect(entered).toEqual({ ok: true, mode: 'DEGRADED', before: 'IRL_ACTIVE' });
    const back = transition({ mode: 'DEGRADED', before: 'IRL_ACTIVE' }, 'IRL_ACTIVE', 'dependency_healthy');
    expect(back).toEqual({ ok: true, mode: 'IRL_ACTIVE', before: null });
    expect(transition({ mode: 'DEGRADED', before: 'IRL_ACTIVE' }, 'STUDIO', 'dependency_healthy').ok).toBe(
      false,
    );
    expect(transition({ mode: 'DEGRADED', before: 'IRL_ACTIVE' }, 'IRL_ACTIVE', 'relay_recovered').ok).toBe(
      false,
    );
    expect(transition({ mode: 'DEGRADED', before: 'STUDIO' }, 'FATAL', 'fatal_error').ok).toBe(true);
  });
});
