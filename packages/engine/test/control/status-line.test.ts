import { describe, expect, it } from 'vitest';
import { clockText, type StatusLineInput, statusLine } from '../../src/control/status-line.js';
import { automationStatus } from '../../src/failover/automation-status.js';
import { effectiveFeed } from '../../src/failover/machine.js';
import { Sim, sig } from '../failover/sim.js';

/** The status line of a simulated engine, as the dashboard would show it now. */
function line(s: Sim, over: Partial<StatusLineInput> = {}) {
  return statusLine({
    now: s.t,
    state: s.state,
    automation: automationStatus(s.state, 'obs'),
    effective: { ...effectiveFeed(s.state), since: s.state.run.since },
    obs: { connection: 'connected', lastError: null },
    programSince: s.t - 3000,
    bitrateKbps: 2400,
    ...over,
  });
}

const phone = (s: Sim, health: 'normal' | 'offline' | 'low', reason: string) =>
  s.send({ kind: 'feed', feed: { health, source: 'phone', reason } });

describe('status line', () => {
  it('BRB on air: since when, why, and what brings LIVE back', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.advance(500);
    phone(s, 'offline', 'no data from phone for 0.6 s');
    s.confirm();
    for (let i = 1; i <= 5; i++) {
      s.advance(500);
      phone(s, 'offline', `no data from phone for ${(0.6 + i * 0.5).toFixed(1)} s`);
    }
    const l = line(s);
    expect(l.level).toBe('warn');
    expect(l.text).toBe(
      `BRB since ${clockText(s.t - 3000)} — no data from phone for 3.1 s; back to LIVE when healthy for 1.5 s`,
    );
  });

  it('LIVE with a healthy feed is ok and names the rate', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 6);
    expect(line(s)).toMatchObject({ level: 'ok', text: 'LIVE — feed healthy (2400 kb/s) for 3 s' });
  });

  it('not streaming: says the scene is not on air and automation waits', () => {
    const s = new Sim().ready('LIVE', false);
    s.samples('offline', 4);
    expect(line(s)).toEqual({
      level: 'info',
      text: "Not streaming — 'LIVE' in OBS; automation starts with the stream",
      since_ms: null,
    });
  });

  it('OBS gone outranks everything, with its own words', () => {
    const s = new Sim().ready('LIVE');
    expect(
      line(s, {
        obs: { connection: 'disconnected', lastError: 'OBS closed the connection' },
      }),
    ).toMatchObject({
      level: 'bad',
      text: 'OBS not connected — OBS closed the connection; no scene is switched until it is back',
    });
  });

  it('a missing role scene blocks automation, and says so', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'scene_list', scenes: ['LIVE', 'OFFLINE'] });
    const l = line(s);
    expect(l.level).toBe('bad');
    expect(l.text).toMatch(/^LIVE — automation blocked: scene 'LOW' does not exist in OBS/);
  });

  it('manual override: the streamer is in charge, the line says nothing will switch', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'flags', flags: { manual_override: true } });
    s.samples('offline', 3);
    expect(line(s)).toMatchObject({
      level: 'warn',
      text: 'LIVE — manual override is on: Telemy switches nothing by itself',
    });
  });

  it('waiting for the media source to show the picture before LIVE', () => {
    const s = new Sim().ready('BRB');
    for (let i = 0; i < 5; i++) {
      s.send({
        kind: 'feed',
        feed: {
          health: 'normal',
          source: 'relay',
          reason: '2400 kb/s',
          picture: { input: 'Telemy Relay', playing: false, detail: 'no new frames yet' },
        },
      });
      s.advance(500);
    }
    expect(line(s).text).toMatch(
      /^BRB since \d\d:\d\d:\d\d — feed healthy \(2400 kb\/s\) for 3 s; back to LIVE once 'Telemy Relay' shows the picture \(no new frames yet\)$/,
    );
  });

  it('the offline timeout counts down on air', () => {
    const s = new Sim({ offline_timeout_s: 5 }).ready('LIVE');
    s.samples('offline', 2);
    s.confirm();
    s.samples('offline', 10);
    s.confirm();
    s.advance(1000);
    s.feed('offline');
    expect(line(s).text).toMatch(/^OFFLINE since .* — feed offline; stopping the stream in 2 s$/);
  });

  it('in IRL before the relay reported the ingest, LIVE is not called healthy', () => {
    const s = new Sim().ready('BRB');
    s.relay(sig.accepted());
    s.relay(sig.telemetryUp());
    s.samples('normal', 4);
    expect(line(s).text).toMatch(/feed unknown: waiting for the relay to report the phone's feed/);
  });
});
