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
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { TwitchIrcStub } from '../../test/support/chat-stubs/twitch-irc-stub.js';
import { startObs } from '../../test/support/obs-harness.js';
import { startChatEngine, timeCommand } from './lib/chat.js';
import { countAndOut, runMain } from './lib/cli.js';
import { latencyRow, load1, loadDuring, machine, writeSection } from './lib/report.js';

const OBS_PORT = 44651;
const ENGINE_PORT = 7201;
const OBS_PASSWORD = 'chat-bench-obs-pw';

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
  const spans: Record<Transition, Spans> = {
    Fade: { toSwitchMs: [], toReplyMs: [] },
    Cut: { toSwitchMs: [], toReplyMs: [] },
  };
  try {
    const { engine, scenes, close } = await startChatEngine(obs, {
      obsPort: OBS_PORT,
      port: ENGINE_PORT,
      obsPassword: OBS_PASSWORD,
      chat: `[chat.twitch]\nchannel = "streamer"\ntoken_key = "twitch_token"\nhost = "${stub.url}"`,
      secrets: { twitch_token: 'bench-tw' },
      env: { TWURPLE_MOCK_API_PORT: String(stub.httpPort) },
    });
    try {
      const observer = await obs.client();
      for (const transition of TRANSITIONS) {
        await observer.call('SetCurrentSceneTransition', { transitionName: transition });
        for (let i = 0; i < count; i++) {
          await sleep(COMMAND_SPACING_MS);
          const replies = stub.sent.length;
          const { sentAt, onAirAt } = await timeCommand({
            i,
            send: (text) => stub.say('streamer', { login: 'mod1', userId: '2', badges: 'moderator/1' }, text),
            waitFor: (pred, ms, what) => stub.waitFor(pred, ms, what),
            engine,
            scenes,
            timeoutMs: 10_000,
            label: transition,
            also: {
              done: () => stub.sent.length > replies,
              detail: () => `replies: ${JSON.stringify(stub.sent.slice(replies))}`,
            },
          });
          const repliedAt = performance.now();
          spans[transition].toSwitchMs.push(onAirAt - sentAt);
          spans[transition].toReplyMs.push(repliedAt - sentAt);
        }
      }
    } finally {
      await close();
    }
  } finally {
    await stub.close();
    await obs.dispose();
  }
  return spans;
}

async function main(): Promise<void> {
  const { count, out } = countAndOut({ count: 40, min: 20, out: 'docs/bench/chat.md' });
  const loadBefore = load1();
  const spans = await run(count);
  const load = loadDuring(loadBefore);
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
    'chat-obs',
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

runMain('chat-obs', main);
