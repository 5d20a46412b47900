/**
 * Dock figures: production bundle size (gzip) and the time from a state change in the engine to the
 * dock's DOM showing it.
 *
 *   node --import tsx scripts/bench/dock.ts [--changes 100] [--gap-ms 100] [--out <file>]
 *
 * Builds the dock if stale, serves it with the real dock socket handler and a realistic DockState
 * (5-minute sparkline history, relay, outputs, events), opens it in Debian's Chromium, then changes
 * the state N times. Each change appends an event whose text carries the engine-side timestamp taken
 * just before the change; a MutationObserver in the page records when that text reaches the DOM.
 * Both clocks are `performance.timeOrigin + performance.now()` of processes on the same host.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { dockDistDir, ensureDockBuilt } from '../../packages/dock/src/paths.js';
import { startFakeEngine } from '../../packages/dock/test/support/fake-engine.js';
import { launchChromium } from '../../test/support/browser.js';
import { startEngine } from './lib/engine.js';
import { loadAverages, percentile, summary } from './lib/report.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '100' },
    'gap-ms': { type: 'string', default: '100' },
    out: { type: 'string', default: path.join(ROOT, 'docs/bench/dock.md') },
    'engine-port': { type: 'string', default: '7212' },
  },
});
const CHANGES = Number(args.changes);
const GAP_MS = Number(args['gap-ms']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const now = () => performance.timeOrigin + performance.now();

await ensureDockBuilt();
const bundle = files(dockDistDir).map((f) => {
  const raw = readFileSync(f);
  return { file: path.relative(dockDistDir, f), raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
});
const totalGzip = bundle.reduce((s, b) => s + b.gzip, 0);
const totalRaw = bundle.reduce((s, b) => s + b.raw, 0);

const engine = await startFakeEngine();
const browser = await launchChromium();
const results: Record<string, { p50: number; p95: number; max: number; n: number; frameBytes: number }> = {};
try {
  for (const [view, width] of [
    ['dock', 400],
    ['dashboard', 1280],
  ] as const) {
    const page = await browser.newPage({ width, height: 900 });
    await page.goto(engine.dockUrl(view === 'dock' ? '#/' : '#/dashboard'));
    await page.getByTestId('conn-banner').filter({ hasText: 'Connected' }).waitFor();
    // A string, not a function: tsx would wrap a function's inner helpers in `__name`, which the
    // page does not define.
    await page.evaluate(`(() => {
      window.benchSeen = new Map();
      new MutationObserver(() => {
        const at = performance.timeOrigin + performance.now();
        for (const el of document.querySelectorAll('.event-text')) {
          const m = /^bench-${view} (\\d+) ([\\d.]+)/.exec(el.textContent || '');
          if (m && !window.benchSeen.has(Number(m[1]))) window.benchSeen.set(Number(m[1]), at - Number(m[2]));
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    let nextId = 10_000;
    for (let i = 0; i < CHANGES; i++) {
      const sentAt = now();
      engine.update((s) => {
        s.events.push({
          id: nextId++,
          at_ms: Date.now(),
          level: 'info',
          text: `bench-${view} ${i} ${sentAt.toFixed(3)}`,
          request_id: null,
          acked: false,
        });
        if (s.events.length > 200) s.events.splice(0, s.events.length - 200);
      });
      await sleep(GAP_MS);
    }
    await sleep(500);
    const seen = await page.evaluate(() =>
      Array.from((window as unknown as { benchSeen: Map<number, number> }).benchSeen.values()),
    );
    results[view] = {
      ...summary(seen),
      frameBytes: JSON.stringify({ type: 'state', state: engine.state() }).length,
    };
    await page.close();
  }
} finally {
  await engine.stop();
}

/**
 * The same measurement against the real `telemy engine` (cloud off, no OBS needed): each change is a
 * `POST /api/settings {"alerts": …}` (persisted to the config file, applied, pushed); the clock starts
 * before the request is sent and stops when the dock's "Alerts" toggle shows the new value.
 */
async function measureRealEngine(): Promise<{
  p50: number;
  p95: number;
  max: number;
  n: number;
  ackP50: number;
}> {
  const port = Number(args['engine-port']);
  const telemy = await startEngine({
    command: 'engine',
    obsPort: 44748,
    port,
    toml: ['[cloud]\nmode = "off"'],
  });
  try {
    const token = telemy.token;
    const page = await browser.newPage({ width: 400, height: 900 });
    await page.goto(telemy.url);
    await page.getByTestId('conn-banner').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    await page.locator('input[name="alerts"]').waitFor();
    await page.evaluate(`(() => {
      const word = () => document.querySelector('input[name="alerts"]')?.closest('label')?.querySelector('.state-word')?.textContent;
      let last = word();
      window.benchFlips = [];
      new MutationObserver(() => {
        const now = word();
        if (now !== last) {
          last = now;
          window.benchFlips.push({ value: now, at: performance.timeOrigin + performance.now() });
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    const sent: { value: boolean; at: number; ackMs: number }[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const value = i % 2 === 1;
      const at = now();
      const r = await fetch(`http://127.0.0.1:${port}/api/settings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ alerts: value }),
      });
      if (r.status !== 200) throw new Error(`POST /api/settings answered ${r.status}: ${await r.text()}`);
      sent.push({ value, at, ackMs: now() - at });
      await sleep(GAP_MS);
    }
    await sleep(500);
    const flips = (await page.evaluate('window.benchFlips')) as { value: string; at: number }[];
    await page.close();
    const lat: number[] = [];
    sent.forEach((s, i) => {
      const f = flips[i];
      if (f && f.value === (s.value ? 'on' : 'off')) lat.push(f.at - s.at);
    });
    return {
      ...summary(lat),
      ackP50: percentile(
        sent.map((s) => s.ackMs),
        50,
      ),
    };
  } finally {
    await telemy.stop();
  }
}

let real: Awaited<ReturnType<typeof measureRealEngine>>;
try {
  real = await measureRealEngine();
} finally {
  await browser.close();
}

const fmt = (v: number) => `${v.toFixed(1)} ms`;
const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
const load = loadAverages();
const report = `# Dock: bundle size and state-to-DOM latency

Date: ${new Date().toISOString()}
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Debian 12, Node ${process.version}, Chromium (Debian, headless).
Load average at the end: ${load} — other engineers' builds and tests were running on the machine at the time.

## Production bundle (\`packages/dock/dist\`, Vite 7 + Preact, zod included for client-side validation)

| file | raw | gzip -9 |
|---|---|---|
${bundle.map((b) => `| ${b.file} | ${kb(b.raw)} | ${kb(b.gzip)} |`).join('\n')}
| **total** | ${kb(totalRaw)} | **${kb(totalGzip)}** (target < 150 KB ${totalGzip < 150 * 1024 ? '✅' : '❌'}) |

## Engine state change → dock DOM

The real dock socket handler (\`registerDockSocket\`, \`notify()\` on change) served a realistic DockState
(${kb(results.dock?.frameBytes ?? 0)} per state frame, 300-point sparkline history). ${CHANGES} changes ${GAP_MS} ms apart per view;
each appends an event whose text carries the engine-side timestamp; a MutationObserver in the page
timestamps its arrival in the DOM (both clocks: \`performance.timeOrigin + performance.now()\` on the same host).

| view | changes seen | p50 | p95 | max | target p95 |
|---|---|---|---|---|---|
${Object.entries(results)
  .map(
    ([view, r]) =>
      `| ${view} | ${r.n}/${CHANGES} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.max)} | < 250 ms ${r.p95 < 250 ? '✅' : '❌'} |`,
  )
  .join('\n')}

### Against the real engine

\`telemy engine\` (cloud off, no OBS), the dock at 400 px in Chromium. ${CHANGES} changes ${GAP_MS} ms apart: each one is
\`POST /api/settings {"alerts": true|false}\` (validated, written to the config file atomically, applied,
pushed on the dock socket); the clock starts before the request is sent and stops when a MutationObserver
sees the dock's "Alerts" toggle show the new value. The HTTP answer itself took ${fmt(real.ackP50)} (p50).

| view | changes seen | p50 | p95 | max | target p95 |
|---|---|---|---|---|---|
| dock (real engine) | ${real.n}/${CHANGES} | ${fmt(real.p50)} | ${fmt(real.p95)} | ${fmt(real.max)} | < 250 ms ${real.p95 < 250 ? '✅' : '❌'} |

Rerun: \`node --import tsx scripts/bench/dock.ts [--changes 100] [--gap-ms 100] [--engine-port 7212]\`.
`;
writeFileSync(args.out, report);
process.stdout.write(readFileSync(args.out, 'utf8'));
