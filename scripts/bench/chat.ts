/**
 * Chat command → ChatActions latency through the Twitch IRC stub: the stub writes a moderator's
 * tagged PRIVMSG, twurple parses it, the pipeline decides, and the action is called. Two figures
 * per command: until the action is called, and until it resolves (for the engine's real actions
 * that is "OBS confirmed the switch"). Pass your own ChatActions to `runChatBench` to measure that.
 *
 *   node --import tsx scripts/bench/chat.ts [--count 50] [--out docs/bench/chat.md]
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ActionResult,
  CHAT_DEFAULTS,
  type ChatActions,
  ChatBridge,
  type ChatSource,
} from '@telemy/engine';
import { createLogger } from '@telemy/protocol';
import { TwitchIrcStub } from '../../test/support/chat-stubs/twitch-irc-stub.js';
import { countAndOut, runMain } from './lib/cli.js';
import { keptFrom, latencyRow, machine, writeReport } from './lib/report.js';

export interface ChatBenchOptions {
  /** Commands to time (≥ 20 for the published figure). */
  count: number;
  /** The actions under test; default: an in-memory one that answers at once. */
  actions?: ChatActions;
  /** Chat lines sent in turn; default alternates `!brb` and `!live`. */
  commands?: string[];
}

export interface ChatBenchResult {
  count: number;
  toCallMs: number[];
  toResultMs: number[];
}

/** Answers at once and without a reply text, so no chat replies queue up behind Twitch's rate limit. */
function instantActions(): ChatActions {
  const ok = async (): Promise<ActionResult> => ({ ok: true, reply: '' });
  return {
    explicitIntent: ok,
    switchToScene: ok,
    listScenes: async () => ['LIVE', 'BRB'],
    setSetting: ok,
    thresholds: async () => ({ low_bitrate_kbps: 800, offline_bitrate_kbps: 200, low_rtt_ms: 2500 }),
    setThreshold: ok,
    status: ok,
    bitrates: ok,
    sourceInfo: ok,
    obsInfo: ok,
    irl: ok,
    startStream: ok,
    stopStream: ok,
    toggleRecord: ok,
    fixMediaSources: ok,
    refreshFeedSource: ok,
    setNotify: ok,
    setPrefix: ok,
    setAlias: ok,
  };
}

/** Wraps every mutating action so the first call and its resolution are time-stamped per request. */
function timed(inner: ChatActions, onCall: () => void, onResult: () => void): ChatActions {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const mutating = args.some((a) => a && typeof a === 'object' && (a as ChatSource).kind === 'chat');
        if (mutating) onCall();
        const result = await value.apply(target, args);
        if (mutating) onResult();
        return result;
      };
    },
  });
}

export async function runChatBench(opts: ChatBenchOptions): Promise<ChatBenchResult> {
  const stub = await new TwitchIrcStub({
    tokens: { benchtoken: { login: 'telemybot', userId: '99' } },
  }).start();
  process.env.TWURPLE_MOCK_API_PORT = String(stub.httpPort);
  let sentAt = 0;
  let calledAt = 0;
  let resolvedAt = 0;
  const actions = timed(
    opts.actions ?? instantActions(),
    () => {
      calledAt = performance.now();
    },
    () => {
      resolvedAt = performance.now();
    },
  );
  const bridge = new ChatBridge({
    config: {
      ...CHAT_DEFAULTS,
      // No cooldowns: every timed command must reach the action.
      commands: Object.fromEntries(
        ['brb', 'live', 'switch'].map((c) => [c, { cooldown_s: 0, user_cooldown_s: 0 }]),
      ),
      twitch: { channel: 'streamer', token_key: 't', host: stub.url },
    },
    actions,
    getSecret: async () => 'benchtoken',
    audit: null,
    log: createLogger('chat-bench', { level: 'silent' }),
    reconnect: { baseMs: 50, maxMs: 500 },
  });
  const result: ChatBenchResult = { count: opts.count, toCallMs: [], toResultMs: [] };
  try {
    await bridge.start();
    await stub.waitFor(() => bridge.states().every((s) => s.connected), 10_000, 'bridge connected');
    const lines = opts.commands ?? ['!brb', '!live'];
    for (let i = 0; i < opts.count; i++) {
      calledAt = 0;
      resolvedAt = 0;
      sentAt = performance.now();
      stub.say('streamer', { login: 'mod1', userId: '2', badges: 'moderator/1' }, lines[i % lines.length]!);
      await stub.waitFor(() => resolvedAt > 0, 30_000, `command ${i}`);
      result.toCallMs.push(calledAt - sentAt);
      result.toResultMs.push(resolvedAt - sentAt);
      await sleep(20);
    }
  } finally {
    await bridge.stop();
    await stub.close();
  }
  return result;
}

async function main(): Promise<void> {
  const { count, out } = countAndOut({ count: 50, min: 1, out: 'docs/bench/chat.md' });
  const r = await runChatBench({ count });
  const table = [
    '| measured span | n | p50 ms | p95 ms | max ms |',
    '|---|---|---|---|---|',
    latencyRow('stub PRIVMSG written → ChatActions called', r.toCallMs, 2),
    latencyRow('stub PRIVMSG written → ChatActions resolved', r.toResultMs, 2),
  ].join('\n');
  const doc = `# Chat command latency (Twitch stub)

Measured ${new Date().toISOString()} on ${machine()}; other work was running on the machine at the time.

Command: \`node --import tsx scripts/bench/chat.ts --count ${count}\`

A moderator's tagged PRIVMSG (\`!brb\` / \`!live\`, cooldowns off) is written by the local Twitch IRC stub
(\`test/support/chat-stubs/twitch-irc-stub.ts\`, plain TCP on loopback), read by \`@twurple/chat\`,
normalised and authorised by the pipeline, and executed through \`ChatActions\`. The actions here are
in-memory and answer at once, so both rows measure the chat path itself. To measure up to the real
OBS switch, call \`runChatBench({ count, actions })\` with the engine's ChatActions: the second row then
ends when OBS confirmed the switch.

${table}
`;
  // The sections maintained by chat-obs.ts and chat-youtube.ts live in the same file: keep them.
  const kept = keptFrom(out, '<!-- chat-obs bench: start -->');
  writeReport(out, kept === null ? doc : `${doc}\n${kept}`);
  process.stdout.write(`${table}\nwritten to ${out}\n`);
}

runMain('chat', main, import.meta.url);
