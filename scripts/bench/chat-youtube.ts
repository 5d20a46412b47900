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
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { YOUTUBE_BURST_MS } from '../../packages/engine/src/chat/adapters/youtube-quota.js';
import { YouTubeApiStub } from '../../test/support/chat-stubs/youtube-stub.js';
import { type ObsHandle, startObs } from '../../test/support/obs-harness.js';
import { startChatEngine, timeCommand } from './lib/chat.js';
import { integerOption, runMain } from './lib/cli.js';
import { latencyRow, load1, loadDuring, machine, percentile, writeSection } from './lib/report.js';

const OBS_PORT = 44652;
const ENGINE_PORT = 7202;
const OBS_PASSWORD = 'yt-bench-obs-pw';
const API_INTERVAL_MS = 2000;
const RAISED_QUOTA = 75_000;
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
  obs: ObsHandle,
  body: (ctx: {
    youtube: () => Promise<YouTubeRow>;
    command: (i: number) => Promise<number>;
  }) => Promise<void>,
): Promise<void> {
  const stub = await new YouTubeApiStub({
    tokens: ['bench-yt'],
    pollingIntervalMillis: API_INTERVAL_MS,
  }).start();
  try {
    const { engine, scenes, close } = await startChatEngine(obs, {
      obsPort: OBS_PORT,
      port: ENGINE_PORT,
      obsPassword: OBS_PASSWORD,
      chat: [
        '[chat.youtube]\nchannel = "Streamer"\ntoken_key = "youtube_token"',
        `host = "${stub.url}"`,
        ...(quotaPerDay === null ? [] : [`quota_per_day = ${quotaPerDay}`]),
      ].join('\n'),
      secrets: { youtube_token: 'bench-yt' },
    });
    try {
      const youtube = async (): Promise<YouTubeRow> => {
        const s = await engine.get<{ chat: YouTubeRow[] | null }>('/api/state');
        const row = s.chat?.find((c) => c.platform === 'youtube');
        if (!row) throw new Error('no youtube row in /api/state');
        return row;
      };
      const observer = await obs.client();
      await observer.call('SetCurrentSceneTransition', { transitionName: 'Cut' });
      await observer.call('SetCurrentProgramScene', { sceneName: 'LIVE' });
      const command = async (i: number): Promise<number> => {
        const { sentAt, onAirAt } = await timeCommand({
          i,
          send: (text) => stub.say(MOD, text),
          waitFor: (pred, ms, what) => stub.waitFor(pred, ms, what),
          engine,
          scenes,
          timeoutMs: 60_000,
        });
        return onAirAt - sentAt;
      };
      await body({ youtube, command });
    } finally {
      await close();
    }
  } finally {
    await stub.close();
  }
}

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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quiet: { type: 'string', default: '10' },
      count: { type: 'string', default: '20' },
      out: { type: 'string', default: 'docs/bench/chat.md' },
    },
  });
  const quietCount = integerOption(values.quiet, 'quiet', 1);
  const count = integerOption(values.count, 'count', 1);
  const out = values.out;
  const loadBefore = load1();
  const series = await run(quietCount, count);
  const load = loadDuring(loadBefore);
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
    'chat-youtube',
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

runMain('chat-youtube', main);
