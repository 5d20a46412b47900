import path from 'node:path';
import { DOCK_AUTOMATION_FLAGS } from '@telemy/protocol';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { artifactsDir, type LaunchedBrowser, launchChromium } from '../../../test/support/browser.js';
import { clock } from '../src/format.js';
import { ensureDockBuilt } from '../src/paths.js';
import { type FakeEngine, startFakeEngine } from './support/fake-engine.js';
import { fakeDockState } from './support/fake-state.js';

let engine: FakeEngine;
let browser: LaunchedBrowser;
let artifacts: string;

beforeAll(async () => {
  await ensureDockBuilt();
  engine = await startFakeEngine();
  browser = await launchChromium();
  artifacts = await artifactsDir();
});

// Each test starts from the plausible mid-stream state, whatever the previous one pushed.
beforeEach(() => {
  engine.setState(fakeDockState());
});

afterAll(async () => {
  expect(pageErrors).toEqual([]);
  await browser?.close();
  await engine?.stop();
});

/** Console errors of every page (CSP violations, exceptions); must stay empty. */
const pageErrors: string[] = [];

async function openDock(width: number, hash = '#/'): Promise<Page> {
  const page = await browser.newPage({ width, height: 900 });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() !== 'error' || /WebSocket connection|ERR_CONNECTION_REFUSED/.test(m.text())) return;
    // A stopping server answers 503 to the dock's failure probe; the dock reads that as "not failed".
    if (m.location().url.endsWith('/healthz') && m.text().includes('status of 503')) return;
    pageErrors.push(m.text());
  });
  await page.goto(engine.dockUrl(hash));
  await page.getByTestId('conn-banner').filter({ hasText: 'Connected' }).waitFor();
  return page;
}

describe('dock in Chromium', () => {
  it('keeps the token out of the address bar and renders the scenes', async () => {
    const page = await openDock(320);
    expect(page.url()).not.toContain('token');
    expect(await page.evaluate(() => sessionStorage.getItem('telemy.token'))).toBe('test-token');
    const scenes = await page
      .locator('.scene-list [data-scene]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-scene')));
    expect(scenes).toEqual(['LIVE', 'LOW', 'BRB', 'OFFLINE', 'Just Chatting']);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    await expect.poll(() => page.locator('[data-scene="LIVE"]').textContent()).toContain('ON AIR');
    await page.screenshot({ path: path.join(artifacts, 'dock-320.png'), fullPage: true });
    await page.close();
  });

  it("shows the engine's version in the footer", async () => {
    const page = await openDock(320);
    await page.getByTestId('footer').filter({ hasText: 'Telemy 0.1.0' }).waitFor();
    engine.update((s) => {
      s.header.version = '9.8.7';
    });
    await page.getByTestId('footer').filter({ hasText: 'Telemy 9.8.7' }).waitFor();
    await page.close();
  });

  it('puts the engine status line above the header, follows it, and keeps its two lines at 300 px', async () => {
    const page = await openDock(300);
    const line = page.getByTestId('status-line');
    await line.filter({ hasText: 'LIVE — feed normal from relay' }).waitFor();
    expect(await line.getAttribute('role')).toBe('status');
    expect(await line.getAttribute('aria-live')).toBe('polite');
    expect(await line.getAttribute('data-level')).toBe('ok');
    const lineBox = (await line.boundingBox())!;
    const barBox = (await page.getByTestId('statusbar').boundingBox())!;
    expect(lineBox.y + lineBox.height).toBeLessThanOrEqual(barBox.y);

    const since = Date.now() - 3000;
    const brb = 'BRB since 12:01:04 — no data from phone for 3 s; back to LIVE when healthy for 1.5 s';
    engine.update((s) => {
      s.status = { level: 'bad', text: brb, since_ms: since };
    });
    await line.filter({ hasText: brb }).waitFor();
    expect(await line.getAttribute('data-level')).toBe('bad');
    expect(await line.getAttribute('title')).toBe(`${brb} (since ${clock(since)})`);
    // The whole sentence fits the reserved two lines, and nothing below moved.
    expect(await line.locator('.status-text').evaluate((el) => el.scrollHeight <= el.clientHeight)).toBe(
      true,
    );
    expect((await line.boundingBox())!.height).toBe(lineBox.height);
    expect((await page.getByTestId('statusbar').boundingBox())!.y).toBe(barBox.y);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(300);
    await page.screenshot({ path: path.join(artifacts, 'dock-300-brb.png') });
    await page.close();
  });

  it('scenes: the automation state with its reason, missing role scenes, ON AIR only while streaming', async () => {
    const page = await openDock(320);
    const badge = page.getByTestId('automation-state');
    await expect.poll(() => badge.getAttribute('data-state')).toBe('armed');
    await expect.poll(() => page.locator('[data-scene="LIVE"]').textContent()).toContain('● ON AIR');

    engine.update((s) => {
      s.status = {
        level: 'bad',
        text: "Not streaming — automation blocked: scene 'OFFLINE' does not exist in OBS",
        since_ms: null,
      };
      s.live = { ...s.live, streaming: false, stream_elapsed_s: null };
      s.scenes.list = ['LIVE', 'LOW', 'Just Chatting'];
      s.scenes.automation = {
        state: 'blocked',
        text: "scene 'OFFLINE' does not exist in OBS: automation cannot put OFFLINE on air",
      };
      s.scenes.missing = [
        { role: 'BRB', scene: 'BRB', stand_in: 'LOW' },
        { role: 'OFFLINE', scene: 'OFFLINE', stand_in: null },
      ];
    });
    await expect.poll(() => badge.getAttribute('data-state')).toBe('blocked');
    expect(await badge.textContent()).toContain('automation blocked');
    expect(await page.getByTestId('automation-text').textContent()).toBe(
      "scene 'OFFLINE' does not exist in OBS: automation cannot put OFFLINE on air",
    );
    expect(await page.getByTestId('missing-scenes').locator('li').allTextContents()).toEqual([
      "⚠ BRB scene 'BRB' does not exist in OBS — 'LOW' goes on air instead",
      "⚠ OFFLINE scene 'OFFLINE' does not exist in OBS — automation cannot put OFFLINE on air",
    ]);
    const live = page.locator('[data-scene="LIVE"]');
    expect(await live.textContent()).toContain('● PROGRAM');
    expect(await live.textContent()).not.toContain('ON AIR');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    await page.screenshot({ path: path.join(artifacts, 'dock-320-blocked.png'), fullPage: true });

    engine.update((s) => {
      s.live.streaming = null;
    });
    await expect.poll(() => page.getByText('streaming unknown').count()).toBe(1);
    expect(await live.textContent()).toContain('● PROGRAM');
    engine.update((s) => {
      s.live.streaming = true;
      s.scenes.missing = [];
    });
    await expect.poll(() => live.textContent()).toContain('● ON AIR');
    expect(await live.textContent()).not.toContain('PROGRAM');
    expect(await page.getByTestId('missing-scenes').count()).toBe(0);
    await page.close();
  });

  it('failover shows the last automatic switch; quick toggles list every automation flag', async () => {
    const page = await openDock(320);
    const failover = page.locator('[data-panel="failover"]');
    await failover.filter({ hasText: 'Last automatic switch' }).waitFor();
    expect(await page.getByTestId('last-switch').textContent()).toMatch(
      /^\d\d:\d\d:\d\d → LIVE: feed healthy for 1\.5 s \(rule recovery, sw-42\)$/,
    );
    for (const flag of DOCK_AUTOMATION_FLAGS) {
      expect(await page.locator(`.toggles input[name="${flag}"]`).count()).toBe(1);
    }
    await page
      .locator('.toggles label')
      .filter({ has: page.locator('input[name="only_while_streaming"]') })
      .filter({ hasText: 'Only switch while streaming' })
      .waitFor();
    await page.close();
  });

  it('relay links: "Relay not running" without a session, "Waiting for relay telemetry" with one', async () => {
    engine.update((s) => {
      s.relay = { ...s.relay, status: 'inactive', uptime_s: null, latency_ms: null, instance: null };
      s.links = { status: 'inactive', rows: [] };
    });
    const page = await openDock(320);
    const relay = page.locator('[data-panel="relay"]');
    await relay.getByText('Relay not running.').waitFor();
    expect(await relay.textContent()).not.toContain('Waiting for relay telemetry');
    engine.update((s) => {
      s.relay.status = 'provisioning';
      s.links.status = 'waiting';
    });
    await relay.getByText('Waiting for relay telemetry…').waitFor();
    expect(await relay.textContent()).not.toContain('Relay not running');
    await page.close();
  });

  it('a click sends switch_scene, shows pending, then completed once the engine confirms', async () => {
    let confirm!: () => void;
    engine.setHandler(async (a, progress) => {
      if (a.type !== 'switch_scene') return { action_id: a.action_id, action: a.type, status: 'completed' };
      progress({ action_id: a.action_id, action: a.type, status: 'accepted' });
      engine.update((s) => {
        s.scenes.pending = { request_id: 'req-1', scene: a.scene };
      });
      await new Promise<void>((resolve) => {
        confirm = resolve;
      });
      engine.update((s) => {
        s.scenes.pending = null;
        s.scenes.active = a.scene;
      });
      return { action_id: a.action_id, action: a.type, status: 'completed' };
    });
    const page = await openDock(400);
    await page.locator('[data-scene="BRB"]').click();
    await expect.poll(() => engine.actions.at(-1)).toMatchObject({ type: 'switch_scene', scene: 'BRB' });
    await page.getByTestId('switch-result').filter({ hasText: 'Switch to BRB: pending' }).waitFor();
    expect(await page.locator('[data-scene="BRB"]').textContent()).toContain('pending');
    expect(await page.locator('[data-scene="LIVE"]').textContent()).toContain('ON AIR');
    confirm();
    await page.getByTestId('switch-result').filter({ hasText: 'Switch to BRB: completed' }).waitFor();
    await expect.poll(() => page.locator('[data-scene="BRB"]').textContent()).toContain('ON AIR');
    expect(await page.locator('[data-scene="BRB"]').textContent()).not.toContain('pending');
    await page.close();
  });

  it('shows a rejected switch with the engine reason', async () => {
    engine.setHandler(async (a) => ({
      action_id: a.action_id,
      action: a.type,
      status: 'rejected',
      reason: 'the scene path is down (shim not connected)',
    }));
    const page = await openDock(320);
    await page.locator('[data-scene="OFFLINE"]').click();
    await page
      .getByTestId('switch-result')
      .filter({ hasText: 'rejected — the scene path is down (shim not connected)' })
      .waitFor();
    await page.close();
  });

  it('shows "engine not running" while the engine is away and recovers without a reload', async () => {
    const page = await openDock(320);
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    await engine.stop();
    await page
      .getByTestId('conn-banner')
      .filter({ hasText: 'Engine not running' })
      .waitFor({ timeout: 5000 });
    await engine.restart();
    engine.update((s) => {
      s.header.engine_state = 'DEGRADED';
    });
    await page.getByTestId('conn-banner').filter({ hasText: 'Connected' }).waitFor({ timeout: 10_000 });
    await page.getByTestId('engine-state').filter({ hasText: 'DEGRADED' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    engine.update((s) => {
      s.header.engine_state = 'IRL_ACTIVE';
    });
    await page.close();
  });

  it('says "restarting" when the engine announces it before going away', async () => {
    const page = await openDock(320);
    engine.dock().lifecycle('restarting', 'config reload');
    await engine.stop();
    await page.getByTestId('conn-banner').filter({ hasText: 'Engine restarting (config reload)' }).waitFor();
    await engine.restart();
    await page.getByTestId('conn-banner').filter({ hasText: 'Connected' }).waitFor({ timeout: 10_000 });
    await page.close();
  });

  it('reveals pairing only on request', async () => {
    engine.setHandler(async (a) => {
      if (a.type === 'reveal_pairing' && a.reveal) {
        engine.update((s) => {
          s.relay.pairing = {
            revealed: true,
            available: true,
            srt_url: 'srt://203.0.113.7:9000?streamid=publish:abc&passphrase=pairing-secret-123',
            srtla_url: 'srtla://203.0.113.7:9002?passphrase=pairing-secret-123&latency=2000',
            qr_svg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><path d="M0 0h2v2H0z"/></svg>',
            obs_source_url: 'srt://203.0.113.7:9001?streamid=play:abc',
          };
        });
      }
      return { action_id: a.action_id, action: a.type, status: 'completed' };
    });
    const page = await openDock(400);
    expect(await page.locator('body').textContent()).not.toContain('pairing-secret-123');
    await page.getByRole('button', { name: /Reveal phone pairing/ }).click();
    await page.locator('.pairing.revealed code').first().filter({ hasText: 'pairing-secret-123' }).waitFor();
    expect(await page.locator('.qr svg').count()).toBe(1);
    expect(await page.locator('.pairing.revealed').textContent()).toContain('srtla://203.0.113.7:9002');
    engine.update((s) => {
      s.relay.pairing = { revealed: false, available: true };
    });
    await page.close();
  });

  it('toggles, mode and relay buttons send their actions and show the outcome', async () => {
    engine.setHandler(async (a) =>
      a.type === 'relay_stop'
        ? { action_id: a.action_id, action: a.type, status: 'rejected', reason: 'control plane unreachable' }
        : { action_id: a.action_id, action: a.type, status: 'completed' },
    );
    const page = await openDock(320);
    await page.locator('input[name="manual_override"]').click();
    await expect
      .poll(() => engine.actions.at(-1))
      .toMatchObject({ type: 'set_setting', key: 'manual_override', value: true });
    await page.getByRole('button', { name: /Studio/ }).click();
    await expect.poll(() => engine.actions.at(-1)).toMatchObject({ type: 'set_mode', mode: 'studio' });
    await page.locator('.action-status').filter({ hasText: 'Mode change: ✔ done' }).waitFor();
    await page.getByRole('button', { name: /Stop relay/ }).click();
    await page.locator('.action-status').filter({ hasText: 'refused — control plane unreachable' }).waitFor();
    await page.close();
  });

  it('dashboard at 1280 px shows every panel in a grid', async () => {
    const page = await openDock(1280, '#/dashboard');
    for (const id of [
      'scenes',
      'feed',
      'failover',
      'toggles',
      'outputs',
      'relay',
      'chat',
      'system',
      'events',
    ]) {
      expect(await page.locator(`[data-panel="${id}"]`).count()).toBe(1);
    }
    const columns = await page
      .locator('.panels')
      .evaluate((el) => getComputedStyle(el).gridTemplateColumns.split(' ').length);
    expect(columns).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-1280.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(artifacts, 'dashboard-1280-dark.png'), fullPage: true });
    await page.close();
  });

  it('settings refuses an out-of-range threshold beside the field and sends nothing', async () => {
    engine.setHandler(async (a) => ({ action_id: a.action_id, action: a.type, status: 'completed' }));
    const page = await openDock(1280, '#/settings');
    const before = engine.actions.length;
    const input = page.locator('#f-thresholds\\.low_rtt_ms');
    await input.fill('999999');
    const err = page.locator('[data-error-for="thresholds.low_rtt_ms"]');
    await err.filter({ hasText: 'must be at most 60000' }).waitFor();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('save-status').filter({ hasText: 'Not saved' }).waitFor();
    expect(engine.actions.length).toBe(before);
    await page.screenshot({ path: path.join(artifacts, 'settings-invalid-1280.png'), fullPage: false });

    await input.fill('3000');
    await expect.poll(() => err.textContent()).toBe('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('save-status').filter({ hasText: 'Saved' }).waitFor();
    const saved = engine.actions.at(-1);
    expect(saved?.type).toBe('save_settings');
    if (saved?.type === 'save_settings') expect(saved.settings.thresholds.low_rtt_ms).toBe(3000);
    await page.close();
  });

  it('settings warns, before saving, about a role scene OBS does not have, and still saves it', async () => {
    engine.setHandler(async (a) => ({ action_id: a.action_id, action: a.type, status: 'completed' }));
    engine.update((s) => {
      s.scenes.roles.brb = 'Be Right Back';
      if (s.config) s.config.timings.offline_hold_s = 7;
    });
    const page = await openDock(1280, '#/settings');
    const before = engine.actions.length;
    // Starting values are the engine's, not defaults repeated in the page.
    expect(await page.locator('#f-timings\\.offline_hold_s').inputValue()).toBe('7');
    await page
      .locator('[data-field="timings.offline_hold_s"] label')
      .filter({ hasText: 'OFFLINE on air before the stop (0–600 s)' })
      .waitFor();

    const warning = page.locator('[data-warning-for="scenes.brb"]');
    await warning
      .filter({ hasText: "OBS has no scene named 'Be Right Back': automation cannot put it on air" })
      .waitFor();
    expect(await page.locator('[data-warning-for]').count()).toBe(1);
    await page
      .getByTestId('save-warning')
      .filter({ hasText: "Not in OBS: BRB scene 'Be Right Back'." })
      .waitFor();
    expect(engine.actions.length).toBe(before);
    await page.locator('[data-field="scenes.brb"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, 'settings-missing-scene-1280.png') });

    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('save-status').filter({ hasText: 'Saved' }).waitFor();
    const saved = engine.actions.at(-1);
    expect(saved?.type).toBe('save_settings');
    if (saved?.type === 'save_settings') {
      expect(saved.settings.scenes.brb).toBe('Be Right Back');
      expect(saved.settings.timings.offline_hold_s).toBe(7);
    }

    await page.locator('#f-scenes\\.brb').selectOption('BRB');
    await expect.poll(() => warning.count()).toBe(0);
    expect(await page.getByTestId('save-warning').count()).toBe(0);
    await page.close();
  });

  it('settings shows the engine rejection reason beside the field it names', async () => {
    engine.setHandler(async (a) => ({
      action_id: a.action_id,
      action: a.type,
      status: 'rejected',
      reason: 'OBS did not answer',
      field_errors: { 'settings.obs.host': 'did not answer on port 4455' },
    }));
    const page = await openDock(1280, '#/settings');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page
      .locator('[data-error-for="obs.host"]')
      .filter({ hasText: 'did not answer on port 4455' })
      .waitFor();
    await page.getByTestId('save-status').filter({ hasText: 'Not saved: OBS did not answer' }).waitFor();
    await page.close();
  });
});
