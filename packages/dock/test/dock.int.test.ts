import path from 'node:path';
import { dockStateSchema } from '@telemy/protocol';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsDir, type LaunchedBrowser, launchChromium } from '../../../test/support/browser.js';
import { ensureDockBuilt } from '../src/paths.js';
import { type FakeEngine, startFakeEngine } from './support/fake-engine.js';

let engine: FakeEngine;
let browser: LaunchedBrowser;
let artifacts: string;

beforeAll(async () => {
  await ensureDockBuilt();
  engine = await startFakeEngine();
  browser = await launchChromium();
  artifacts = await artifactsDir();
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
  it('the fake state is a valid DockState', () => {
    expect(dockStateSchema.safeParse(engine.state()).success).toBe(true);
  });

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
