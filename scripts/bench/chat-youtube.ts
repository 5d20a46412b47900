/**
 * YouTube chat command → OBS switch latency through the whole product, with the quota pacing as a
 * streamer has it: the YouTube Data API stub answers `liveChatMessages.list` with a
 * `pollingIntervalMillis` of 2 s, `telemy engine` (a child process, direct switching) polls it at the
 * pace its quota allows, and a real headless OBS switches scene. The end of each span is OBS's
 * `CurrentProgramSceneChanged` event seen by a separate obs-websocket client in this process (same
 * clock as the stub). A moderator's `!brb` and `!live` alternate; their cooldowns are 0.
 *
 * Three series:
 * - default quota (10,000 units), 8-hour broadcast, follow-up commands 3–8 s apart (inside the
 *   burst the previous command started); run first, while the day's burst allowance is unspent;
 * - default quota, commands after a quiet spell: each one waits longer than the burst a command
 *   starts, plus a random part of the steady poll interval, so it lands at a random point of the
 *   steady pace;
 * - `quota_per_day = 75000`: enough for the steady pace to be the API's 2 s; commands 3–8 s apart.
 *
 *   node --import tsx scripts/bench/chat-youtube.ts [--quiet 10] [--count 20] [--out docs/bench/chat.md]
 *
 * Writes its table into the YouTube section of the output file, leaving the rest as it is.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { YOUTUBE_BURST_MS } from '../../packages/engine/src/chat/adapters/youtube-quota.js';
import { YouTubeApiStub } from '../../test/support/chat-stubs/youtube-stub.js';
import { startObs } from '../../test/support/obs-harness.js';
import {
  eventually,
  newTelemyHome,
  startTelemy,
  telemySync,
  writeConfig,
} from '../../test/support/telemy-process.js';
import { latencyRow, machine, percentile } from './report.js';

const OBS_PORT = 44652;
const ENGINE_PORT = 7202;
const OBS_PASSWORD = 'yt-bench-obs-pw';
const API_INTERVAL_MS = 2000;
const RAISED_QUOTA = 75_000;
const SECTION_START = '<!-- chat-youtube bench: start -->';
const SECTION_END = '<!-- chat-youtube bench: end -->';
const MOD = { channelId: 'UCbenchmod', displayName: 'benchmod', moderator: true };

interface Series {
  label: string;
  switchMs: number[];
  /** The steady poll interval the engine reported before each command. */
  steadyMs: number[];
  quotaLeftAfter: number | null;
}

/** Deterministic jitter, so a rerun samples the same points of the poll cycle. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface YouTubeRow {
  platform: string;
  connected: boolean;
  quota_remaining?: number;
  quota_pace?: { poll_interval_ms: number } | null;
}

async function withEngine(
  quotaPerDay: number | null,
  obs: Awaited<ReturnType<typeof startObs>>,
  body: (ctx: {
    stub: YouTubeApiStub;
    youtube: () => Promise<YouTubeRow>;
    command: (i: number) => Promise<number>;
  }) => Promise<void>,
): Promise<void> {
  const stub = await new YouTubeApiStub({
    tokens: ['bench-yt'],
    pollingIntervalMillis: API_INTERVAL_MS,
  }).start();
  const home = newTelemyHome();
  writeConfig(
    home,
    `[obs]
port = ${OBS_PORT}
[server]
port = ${ENGINE_PORT}
[cloud]
mode = "off"
[automation]
auto_scene_switch = false
[chat.youtube]
channel = "Streamer"
token_key = "youtube_token"
host = "${stub.url}"
${quotaPerDay === null ? '' : `quota_per_day = ${quotaPerDay}\n`}[chat.commands.brb]
cooldown_s = 0
[chat.commands.live]
cooldown_s = 0
`,
  );
  for (const [key, secret] of [
    ['obs_password', OBS_PASSWORD],
    ['youtube_token', 'bench-yt'],
  ] as const) {
    if (telemySync(['vault', 'set', key], { home, input: `${secret}\n` }).status !== 0)
      throw new Error(`could not store ${key} in the vault`);
  }
  const engine = startTelemy(['engine', '--config', path.join(home, 'config.toml')], { home });
  try {
    const token = (await engine.waitFor(/dashboard: \S+\?token=(\S+)/, 120_000))[1] as string;
    const youtube = async (): Promise<YouTubeRow> => {
      const r = await fetch(`http://127.0.0.1:${ENGINE_PORT}/api/state`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const s = (await r.json()) as { chat: YouTubeRow[] | null };
      const row = s.chat?.find((c) => c.platform === 'youtube');
      if (!row) throw new Error('no youtube row in /api/state');
      return row;
    };
    await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${ENGINE_PORT}/api/state`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const s = (await r.json()) as { obs: { connection: string }; chat: YouTubeRow[] | null };
      return s.obs.connection === 'connected' && (s.chat ?? []).every((c) => c.connected);
    }, 30_000);
    const observer = await obs.client();
    let switchedTo: { scene: string; at: number } | null = null;
    observer.on('CurrentProgramSceneChanged', (e) => {
      switchedTo = { scene: e.sceneName, at: performance.now() };
    });
    await observer.call('SetCurrentSceneTransition', { transitionName: 'Cut' });
    await observer.call('SetCurrentProgramScene', { sceneName: 'LIVE' });
    const command = async (i: number): Promise<number> => {
      const [text, scene] = i % 2 === 0 ? ['!brb', 'BRB'] : ['!live', 'LIVE'];
      switchedTo = null;
      const sentAt = performance.now();
      stub.say(MOD, text);
      await stub
        .waitFor(() => (switchedTo as { scene: string } | null)?.scene === scene, 60_000, `${text} (#${i})`)
        .catch((e) => {
          throw new Error(
            `${e.message}; OBS event: ${JSON.stringify(switchedTo)}; engine: ${engine.stdout().slice(-1500)} ${engine.stderr().slice(-1500)}`,
          );
        });
      return (switchedTo as unknown as { at: number }).at - sentAt;
    };
    await body({ stub, youtube, command });
    await observer.disconnect();
  } finally {
    await engine.stop();
    await stub.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(quietCount: number, count: number): Promise<Series[]> {
  const obs = await startObs({ port: OBS_PORT, password: OBS_PASSWORD, scenes: ['LIVE', 'BRB'] });
  const rand = rng(21);
  const quiet: Series = {
    label: 'default quota, command after a quiet spell',
    switchMs: [],
    steadyMs: [],
    quotaLeftAfter: null,
  };
  const burst: Series = {
    label: 'default quota, follow-up command 3–8 s after the previous one',
    switchMs: [],
    steadyMs: [],
    quotaLeftAfter: null,
  };
  const raised: Series = {
    label: `quota_per_day = ${RAISED_QUOTA}, commands 3–8 s apart`,
    switchMs: [],
    steadyMs: [],
    quotaLeftAfter: null,
  };
  try {
    await withEngine(null, obs, async ({ youtube, command }) => {
      let i = 0;
      await sleep(2 * API_INTERVAL_MS);
      for (let n = 0; n < count; n++) {
        await sleep(3000 + rand() * 5000);
        burst.steadyMs.push((await youtube()).quota_pace?.poll_interval_ms ?? 0);
        burst.switchMs.push(await command(i++));
      }
      for (let n = 0; n < quietCount; n++) {
        const steady = (await youtube()).quota_pace?.poll_interval_ms ?? 0;
        // Past the previous command's burst, then a random point of the steady poll cycle.
        await sleep(YOUTUBE_BURST_MS + 2 * API_INTERVAL_MS + rand() * steady);
        quiet.steadyMs.push((await youtube()).quota_pace?.poll_interval_ms ?? 0);
        quiet.switchMs.push(await command(i++));
        process.stdout.write(`quiet #${n}: ${quiet.switchMs.at(-1)?.toFixed(0)} ms\n`);
      }
      const row = await youtube();
      quiet.quotaLeftAfter = row.quota_remaining ?? null;
      burst.quotaLeftAfter = row.quota_remaining ?? null;
    });
    await withEngine(RAISED_QUOTA, obs, async ({ youtube, command }) => {
      await sleep(2 * API_INTERVAL_MS);
      for (let n = 0; n < count; n++) {
        await sleep(3000 + rand() * 5000);
        raised.steadyMs.push((await youtube()).quota_pace?.poll_interval_ms ?? 0);
        raised.switchMs.push(await command(n));
      }
      raised.quotaLeftAfter = (await youtube()).quota_remaining ?? null;
    });
  } finally {
    await obs.dispose();
  }
  return [burst, quiet, raised];
}

/** Replaces this bench's section of the doc, or appends it. */
function writeSection(file: string, section: string): void {
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const start = doc.indexOf(SECTION_START);
  const end = doc.indexOf(SECTION_END);
  const block = `${SECTION_START}\n${section}${SECTION_END}\n`;
  const next =
    start >= 0 && end > start
      ? doc.slice(0, start) + block + doc.slice(end + SECTION_END.length + 1)
      : `${doc.trimEnd()}\n\n${block}`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, next);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const quietCount = Number(flag('--quiet') ?? 10);
  const count = Number(flag('--count') ?? 20);
  const out = flag('--out') ?? 'docs/bench/chat.md';
  if (!Number.isInteger(quietCount) || quietCount < 1) throw new Error('--quiet must be an integer ≥ 1');
  if (!Number.isInteger(count) || count < 1) throw new Error('--count must be an integer ≥ 1');
  const loadBefore = os.loadavg()[0] ?? 0;
  const series = await run(quietCount, count);
  const load = `1-minute load average ${loadBefore.toFixed(1)} before the run, ${(os.loadavg()[0] ?? 0).toFixed(1)} after`;
  const s = (v: number) => (v / 1000).toFixed(1);
  const table = [
    '| series | steady poll interval (s) | n | p50 ms | p95 ms | max ms | quota left after |',
    '|---|---|---|---|---|---|---|',
    ...series.map((x) => {
      const row = latencyRow(x.label, x.switchMs, 0);
      const steady = `${s(Math.min(...x.steadyMs))}–${s(Math.max(...x.steadyMs))}`;
      return row.replace(`| ${x.label} |`, `| ${x.label} | ${steady} |`) + ` ${x.quotaLeftAfter ?? '—'} |`;
    }),
  ].join('\n');
  const quiet = series[1];
  const expectP95 = quiet ? (0.95 * percentile(quiet.steadyMs, 50)) / 1000 : Number.NaN;
  writeSection(
    out,
    `## YouTube: command → OBS switch with the quota pacing

Measured ${new Date().toISOString()} on ${machine()}; other work was running on the machine at the time (${load}).

Command: \`node --import tsx scripts/bench/chat-youtube.ts --quiet ${quietCount} --count ${count}\`

The YouTube Data API stub (in the bench process) answers \`liveChatMessages.list\` with
\`pollingIntervalMillis: ${API_INTERVAL_MS}\` and finds the broadcast (started when the stub started) through
\`liveBroadcasts.list\`; \`telemy engine\` runs as a child process (direct switching, \`[cloud] mode = "off"\`,
\`brb\`/\`live\` cooldowns 0, \`expected_stream_hours\` left at 8) against a real headless OBS 29 under
Xvfb with the Cut transition. A moderator's \`!brb\` / \`!live\` alternate; each span ends at OBS's
\`CurrentProgramSceneChanged\` on a second obs-websocket client in the bench process. Every command is
answered in chat (\`liveChatMessages.insert\`, 50 units), as it would be live. The steady poll interval
is what the engine reported in \`/api/state\` (\`quota_pace.poll_interval_ms\`) just before each command.

${table}

The follow-up series runs first: each command arrives inside the ${YOUTUBE_BURST_MS / 1000}-second burst the previous one
started, so it waits at most the API's interval. A command after a quiet spell waits for the next
steady poll: on average half the interval, at the 95th percentile 95 % of it (≈ ${expectP95.toFixed(1)} s at the
median interval here) plus Telemy's own path; with ${quietCount} commands the p95 is close to the slowest
one. The steady interval grows during the run because every reply (50 units) and every burst comes
out of the same quota (bursts from at most a tenth of it).
`,
  );
  process.stdout.write(`${table}\nwritten to ${out}\n`);
}

main().catch((e) => {
  process.stderr.write(`chat-youtube bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
