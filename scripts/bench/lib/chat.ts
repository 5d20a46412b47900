/**
 * The chat benches through the whole product: `telemy engine` (direct switching, cloud off, the
 * `brb` and `live` cooldowns at 0 so every command reaches OBS) reading a chat stub, a real OBS, and
 * a moderator's `!brb` and `!live` in turn, each timed until OBS puts its scene on air.
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ObsHandle } from '../../../test/support/obs-harness.js';
import { eventually } from '../../../test/support/telemy-process.js';
import { type BenchEngine, startEngine } from './engine.js';
import { type SceneLog, sceneLog } from './obs.js';

export interface ChatEngineOptions {
  obsPort: number;
  port: number;
  obsPassword: string;
  /** The platform's config section (`[chat.twitch]` …). */
  chat: string;
  /** The platform's token, as the vault holds it. */
  secrets: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/**
 * The engine once it is connected to OBS and to every chat, and the scenes OBS puts on air from then
 * on; `close` stops the engine and deletes its data folder.
 */
export async function startChatEngine(
  obs: ObsHandle,
  opts: ChatEngineOptions,
): Promise<{ engine: BenchEngine; scenes: SceneLog; close(): Promise<void> }> {
  const engine = await startEngine({
    command: 'engine',
    obsPort: opts.obsPort,
    port: opts.port,
    toml: [
      '[cloud]\nmode = "off"',
      '[automation]\nauto_scene_switch = false',
      opts.chat,
      '[chat.commands.brb]\ncooldown_s = 0',
      '[chat.commands.live]\ncooldown_s = 0',
    ],
    secrets: { obs_password: opts.obsPassword, ...opts.secrets },
    ...(opts.env ? { env: opts.env } : {}),
  });
  try {
    await eventually(async () => {
      const s = await engine.get<{ obs: { connection: string }; chat: Array<{ connected: boolean }> | null }>(
        '/api/state',
      );
      return s.obs.connection === 'connected' && (s.chat ?? []).every((c) => c.connected);
    }, 30_000);
  } catch (err) {
    await engine.stop();
    throw err;
  }
  const scenes = sceneLog(await obs.client());
  return {
    engine,
    scenes,
    async close() {
      scenes.close();
      await engine.stop();
      rmSync(engine.home, { recursive: true, force: true });
    },
  };
}

export interface TimedCommand {
  /** The command's index: even ones are `!brb`, odd ones `!live`. */
  i: number;
  /** Writes the command into the stub's chat. */
  send: (text: string) => void;
  /** The stub's own wait (it wakes on the stub's events). */
  waitFor: (pred: () => boolean, timeoutMs: number, what: string) => Promise<void>;
  engine: BenchEngine;
  scenes: SceneLog;
  timeoutMs: number;
  /** Names the command in a timeout. */
  label?: string;
  /** What must also have happened (a reply), and what to say about it on a timeout. */
  also?: { done: () => boolean; detail: () => string };
}

/** Sends a command; resolves with when it was sent and when OBS put its scene on air. */
export async function timeCommand(c: TimedCommand): Promise<{ sentAt: number; onAirAt: number }> {
  const [text, scene] = c.i % 2 === 0 ? ['!brb', 'BRB'] : ['!live', 'LIVE'];
  const sentAt = performance.now();
  c.send(text);
  const onAir = () => c.scenes.onAirAfter(scene, sentAt);
  await c
    .waitFor(
      () => onAir() !== undefined && (c.also?.done() ?? true),
      c.timeoutMs,
      `${text} (#${c.i}${c.label ? `, ${c.label}` : ''})`,
    )
    .catch((e: Error) => {
      throw new Error(
        `${e.message}; OBS events: ${JSON.stringify(c.scenes.changes.filter((s) => s.at >= sentAt))}${c.also ? `; ${c.also.detail()}` : ''}; engine: ${c.engine.proc.stdout().slice(-1500)} ${c.engine.proc.stderr().slice(-1500)}`,
      );
    });
  return { sentAt, onAirAt: onAir() as number };
}
