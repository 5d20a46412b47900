import { Writable } from 'node:stream';
import type { FeedClass } from '@telemy/protocol';
import { createLogger } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { FailoverController } from '../../src/failover/controller.js';
import { AUTOMATION_DEFAULTS, FAILOVER_DEFAULTS, SCENE_DEFAULTS } from '../../src/failover/params.js';
import { EngineMetrics } from '../../src/metrics/metrics.js';
import type { SceneSwitcher, SwitchRequest, SwitchResult } from '../../src/scenes/scene-switcher.js';
import { sig } from './sim.js';

class FakeSwitcher implements SceneSwitcher {
  up = true;
  fail = false;
  readonly requests: SwitchRequest[] = [];
  /** Where OBS's CurrentProgramSceneChanged goes (the controller). */
  onScene: (scene: string) => void = () => {};
  constructor(private readonly clock: { t: number }) {}
  ready(): boolean {
    return this.up;
  }
  async switchScene(req: SwitchRequest): Promise<SwitchResult> {
    this.requests.push(req);
    // OBS confirms 40 ms later on the fake clock.
    this.clock.t += 40;
    if (!this.fail) this.onScene(req.scene);
    return this.fail
      ? { ok: false, error: { code: 'obs_rejected', message: 'OBS refused' }, latencyMs: 40 }
      : { ok: true, error: null, latencyMs: 40 };
  }
}

function setup() {
  const clock = { t: 5_000_000 };
  const switcher = new FakeSwitcher(clock);
  const metrics = new EngineMetrics();
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const notices: string[] = [];
  const c = new FailoverController({
    params: FAILOVER_DEFAULTS,
    flags: AUTOMATION_DEFAULTS,
    scenes: SCENE_DEFAULTS,
    switcher,
    scenePathVia: 'obs',
    metrics,
    logger: createLogger('test', { destination, level: 'debug' }),
    now: () => clock.t,
    readProgramScene: async () => 'LIVE',
    onNotice: (_level, text) => notices.push(text),
  });
  switcher.onScene = (scene) => c.programScene(scene);
  c.streamStatus(true);
  const feed = (health: FeedClass) =>
    c.feed({ health, source: 'srt', reason: health === 'offline' ? 'stats stale' : null });
  const settle = () => new Promise((r) => setTimeout(r, 5));
  return { clock, switcher, metrics, c, lines, notices, feed, settle };
}

describe('FailoverController', () => {
  it('switches through the SceneSwitcher and records log, history, metrics and diagnostics', async () => {
    const { clock, switcher, metrics, c, lines, feed, settle } = setup();
    c.programScene('LIVE');
    for (let i = 0; i < 4; i++) {
      feed('normal');
      clock.t += 500;
    }
    feed('offline');
    await settle();
    expect(switcher.requests).toEqual([
      expect.objectContaining({
        scene: 'BRB',
        reason: 'auto_failover',
        deadlineMs: 550,
        requestId: expect.any(String),
      }),
    ]);
    const id = switcher.requests[0]?.requestId;
    const result = c.events().find((e) => e.kind === 'switch_result');
    expect(result).toMatchObject({ request_id: id, level: 'info' });
    expect(result?.data).toMatchObject({
      rule: 'local_failover',
      intent: 'BRB',
      result: 'ok',
      latency_ms: 40,
    });
    const logged = lines.find((l) => l.kind === 'switch_result');
    expect(logged).toMatchObject({ request_id: id, rule: 'local_failover', result: 'ok', latency_ms: 40 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('telemy_scene_switch_total{reason="auto_failover",result="ok"} 1');
    expect(text).toContain('telemy_scene_intent_total{intent="BRB",rule="local_failover"} 1');
    expect(text).toContain('telemy_failover_detection_to_switch_seconds_count{reason="auto_failover"} 1');
    expect(text).toContain('telemy_feed_state{state="offline"} 1');
    const diag = c.diagnostics();
    expect(diag.since_start.detection_to_switch_ms).toEqual({ count: 1, p50: 40, p95: 40, max: 40 });
    expect(diag.since_start.switch_success_ratio).toBe(1);
    expect(diag.last_hour.switches).toEqual({ ok: 1, failed: 0 });
  });

  it('command() resolves when OBS confirmed, and refuses while the scene path is down', async () => {
    const { switcher, c } = setup();
    c.programScene('LIVE');
    const r = await c.command({ intent: 'BRB' }, 'dock');
    expect(r).toMatchObject({ ok: true, scene: 'BRB', error: null, latency_ms: 40 });
    expect(r.request_id).toBe(switcher.requests[0]?.requestId);
    expect(await c.command({ intent: 'BRB' }, 'dock')).toMatchObject({
      ok: true,
      already_on_air: true,
      request_id: null,
    });
    switcher.up = false;
    const refused = await c.command({ intent: 'LIVE' }, 'cli');
    expect(refused).toMatchObject({
      ok: false,
      refusal: { guard: 'scene_path', text: expect.stringMatching(/scene path/) },
      error: null,
    });
    expect(c.mode()).toBe('DEGRADED');
    expect(switcher.requests).toHaveLength(1);
  });

  it('goes DEGRADED when the switcher is down and back after the read-back probe', async () => {
    const { clock, switcher, c, metrics, settle } = setup();
    c.programScene('LIVE');
    switcher.up = false;
    c.tick();
    expect(c.mode()).toBe('DEGRADED');
    clock.t += 2000;
    switcher.up = true;
    c.tick();
    await settle();
    clock.t += 300;
    c.tick();
    expect(c.mode()).toBe('STUDIO');
    const diag = c.diagnostics();
    expect(diag.since_start.degraded_seconds).toBeCloseTo(2.3, 1);
    expect(diag.since_start.mode_seconds.DEGRADED).toBeCloseTo(2.3, 1);
    expect(await metrics.registry.metrics()).toMatch(/telemy_degraded_seconds_total 2\.3/);
  });

  it('counts grace entries and recoveries from relay signals', async () => {
    const { clock, c, metrics } = setup();
    c.relaySignal(sig.accepted());
    c.relaySignal(sig.telemetryUp());
    c.relaySignal(sig.telemetryDown());
    clock.t += 300;
    c.tick();
    expect(c.mode()).toBe('IRL_GRACE');
    c.relaySignal(sig.telemetryUp());
    expect(c.mode()).toBe('IRL_ACTIVE');
    const d = c.diagnostics().since_start;
    expect([d.grace_entries, d.grace_recoveries]).toEqual([1, 1]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('telemy_grace_entries_total 1');
    expect(text).toContain('telemy_state_transition_total{from="IRL_ACTIVE",to="IRL_GRACE"} 1');
  });

  it('records failed switches in the success ratio and keeps only the last 200 events', async () => {
    const { clock, switcher, c, settle, notices } = setup();
    c.programScene('LIVE');
    switcher.fail = true;
    for (let i = 0; i < 4; i++) {
      c.feed({ health: 'offline', source: 'srt', reason: 'x' });
      await settle();
      clock.t += 500;
    }
    expect(c.diagnostics().since_start.switch_success_ratio).toBe(0);
    // Retried with backoff, and the same failure is one entry in the event log, not one per try.
    expect(switcher.requests.length).toBeGreaterThanOrEqual(2);
    expect(c.events().filter((e) => e.kind === 'switch_result' && e.level === 'warn')).toHaveLength(1);
    for (let i = 0; i < 300; i++) c.setFlags({ alerts: i % 2 === 0 });
    const events = c.events();
    expect(events).toHaveLength(200);
    expect(events[0]?.id).toBeGreaterThan(1);
    expect(notices).toEqual([]);
  });

  it('a throwing subscriber does not stop failover', async () => {
    const clock = { t: 1_000 };
    const switcher = new FakeSwitcher(clock);
    const c = new FailoverController({
      params: FAILOVER_DEFAULTS,
      flags: AUTOMATION_DEFAULTS,
      scenes: SCENE_DEFAULTS,
      switcher,
      scenePathVia: 'obs',
      metrics: new EngineMetrics(),
      logger: createLogger('test', { level: 'silent' }),
      now: () => clock.t,
      onEvent: () => {
        throw new Error('dock push failed');
      },
    });
    c.programScene('LIVE');
    c.streamStatus(true);
    c.feed({ health: 'normal', source: 'srt', reason: null });
    clock.t += 500;
    expect(() => c.feed({ health: 'offline', source: 'srt', reason: 'x' })).not.toThrow();
    await new Promise((r) => setTimeout(r, 5));
    expect(switcher.requests.map((r) => r.scene)).toEqual(['BRB']);
  });
});
