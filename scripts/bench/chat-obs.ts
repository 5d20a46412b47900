/**
 * Chat command → OBS switch latency through the whole product: the Twitch IRC stub writes a
 * moderator's tagged PRIVMSG, `telemy engine` (a child process, direct switching) reads it with
 * twurple, runs the pipeline and EngineControl, and a real headless OBS switches scene. The end of
 * each span is OBS's `CurrentProgramSceneChanged` event seen by a separate obs-websocket client in
 * this process (same clock as the stub). `!brb` and `!live` alternate; their cooldowns are 0 in the
 * config so every command reaches OBS.
 *
 *   node --import tsx scripts/bench/chat-obs.ts [--count 40] [--out docs/bench/chat.md]
 *
 * Writes its table into the "real OBS" section of the output file, leaving the rest as it is.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TwitchIrcStub } from '../../test/support/chat-stubs/twitch-irc-stub.js';
import { startObs } from '../../test/support/obs-harness.js';
import {
  eventually,
  newTelemyHome,
  startTelemy,
  telemySync,
  writeConfig,
} from '../../test/support/telemy-process.js';
import { latencyRow, machine } from './report.js';

const OBS_PORT = 44651;
const ENGINE_PORT = 7201;
const OBS_PASSWORD = 'chat-bench-obs-pw';
const SECTION_START = '<!-- chat-obs bench: start -->';
const SECTION_END = '<!-- chat-obs bench: end -->';

interface Spans {
  toSwitchMs: number[];
  toReplyMs: number[];
}

/**
 * OBS's default transition (Fade, 300 ms) is what streamers have; Cut leaves only Telemy's path.
 * Cut runs first: in one run OBS 29 emitted no CurrentProgramSceneChanged for the first Cut after
 * a series of Fades (the engine had its confirmation by read-back), which stalled the bench.
 */
const TRANSITIONS = ['Cut', 'Fade'] as const;
type Transition = (typeof TRANSITIONS)[number];

/**
 * twurple paces a non-moderator bot's messages to one per 1.2 s per channel and 20 per 30 s (Twitch's
 * limits), so commands are spaced further apart: every reply then measures the path, not the queue.
 */
const COMMAND_SPACING_MS = 1_600;

async function run(count: number): Promise<Record<Transition, Spans>> {
  const obs = await startObs({ port: OBS_PORT, password: OBS_PASSWORD, scenes: ['LIVE', 'BRB'] });
  const stub = await new TwitchIrcStub({
    tokens: { 'bench-tw': { login: 'telemybot', userId: '99' } },
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
[chat.twitch]
channel = "streamer"
token_key = "twitch_token"
host = "${stub.url}"
[chat.commands.brb]
cooldown_s = 0
[chat.commands.live]
cooldown_s = 0
`,
  );
  for (const [key, secret] of [
    ['obs_password', OBS_PASSWORD],
    ['twitch_token', 'bench-tw'],
  ] as const) {
    if (telemySync(['vault', 'set', key], { home, input: `${secret}\n` }).status !== 0)
      throw new Error(`could not store ${key} in the vault`);
  }
  const engine = startTelemy(['engine', '--config', path.join(home, 'config.toml')], {
    home,
    env: { TWURPLE_MOCK_API_PORT: String(stub.httpPort) },
  });
  const spans: Record<Transition, Spans> = {
    Fade: { toSwitchMs: [], toReplyMs: [] },
    Cut: { toSwitchMs: [], toReplyMs: [] },
  };
  try {
    const token = (await engine.waitFor(/dashboard: \S+\?token=(\S+)/))[1] as string;
    await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${ENGINE_PORT}/api/state`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const s = (await r.json()) as { obs: { connection: string }; chat: Array<{ connected: boolean }> };
      return s.obs.connection === 'connected' && s.chat.every((c) => c.connected);
    }, 30_000);
    const observer = await obs.client();
    let switchedTo: { scene: string; at: number } | null = null;
    observer.on('CurrentProgramSceneChanged', (e) => {
      switchedTo = { scene: e.sceneName, at: performance.now() };
    });
    for (const transition of TRANSITIONS) {
      await observer.call('SetCurrentSceneTransition', { transitionName: transition });
      for (let i = 0; i < count; i++) {
        const [command, scene] = i % 2 === 0 ? ['!brb', 'BRB'] : ['!live', 'LIVE'];
        await new Promise((r) => setTimeout(r, COMMAND_SPACING_MS));
        switchedTo = null;
        const replies = stub.sent.length;
        const sentAt = performance.now();
        stub.say('streamer', { login: 'mod1', userId: '2', badges: 'moderator/1' }, command);
        await stub
          .waitFor(
            () => (switchedTo as { scene: string } | null)?.scene === scene && stub.sent.length > replies,
            10_000,
            `${command} (#${i}, ${transition})`,
          )
          .catch((e) => {
            throw new Error(
              `${e.message}; OBS event: ${JSON.stringify(switchedTo)}; replies: ${JSON.stringify(stub.sent.slice(replies))}; engine: ${engine.stdout().slice(-1500)} ${engine.stderr().slice(-1500)}`,
            );
          });
        const repliedAt = performance.now();
        spans[transition].toSwitchMs.push((switchedTo as unknown as { at: number }).at - sentAt);
        spans[transition].toReplyMs.push(repliedAt - sentAt);
      }
    }
  } finally {
    await engine.stop();
    await stub.close();
    await obs.dispose();
    fs.rmSync(home, { recursive: true, force: true });
  }
  return spans;
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
  const count = Number(flag('--count') ?? 40);
  const out = flag('--out') ?? 'docs/bench/chat.md';
  if (!Number.isInteger(count) || count < 20) throw new Error('--count must be an integer ≥ 20');
  const loadBefore = os.loadavg()[0] ?? 0;
  const spans = await run(count);
  const load = `1-minute load average ${loadBefore.toFixed(1)} before the run, ${(os.loadavg()[0] ?? 0).toFixed(1)} after`;
  const table = [
    '| measured span | n | p50 ms | p95 ms | max ms |',
    '|---|---|---|---|---|',
    ...TRANSITIONS.flatMap((t) => [
      latencyRow(`${t}: stub PRIVMSG written → OBS CurrentProgramSceneChanged`, spans[t].toSwitchMs, 1),
      latencyRow(`${t}: stub PRIVMSG written → reply PRIVMSG received by the stub`, spans[t].toReplyMs, 1),
    ]),
  ].join('\n');
  writeSection(
    out,
    `## Through \`telemy engine\` and a real OBS

Measured ${new Date().toISOString()} on ${machine()}; other work was running on the machine at the time (${load}).

Command: \`node --import tsx scripts/bench/chat-obs.ts --count ${count}\`

The Twitch IRC stub (in the bench process) writes a moderator's \`!brb\` / \`!live\` in turn;
\`telemy engine\` runs as a child process (direct switching, \`[cloud] mode = "off"\`, cooldowns of
\`brb\`/\`live\` set to 0) against a real headless OBS 29 under Xvfb. The switch is timed at OBS's
\`CurrentProgramSceneChanged\` event on a second obs-websocket client in the bench process. OBS emits
that event when the transition has finished, so the \`Fade\` rows (OBS's default, 300 ms) include the
fade and the \`Cut\` rows leave Telemy's own path: twurple read → pipeline → EngineControl →
\`SetCurrentProgramScene\` → OBS. The reply is sent after the engine saw OBS confirm the scene. Commands
are ${COMMAND_SPACING_MS / 1000} s apart, more than twurple's pacing of a non-moderator bot's replies
(one per 1.2 s per channel, 20 per 30 s), so no reply waits behind the previous one.

${table}
`,
  );
  process.stdout.write(`${table}\nwritten to ${out}\n`);
}

main().catch((e) => {
  process.stderr.write(`chat-obs bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
