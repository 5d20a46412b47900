import { existsSync } from 'node:fs';
import type { FeedSample, SourceContext, SourceModule } from '@telemy/engine';
import type { SourceConfig } from '@telemy/engine/config';
import { errorText, type SourceType } from '@telemy/protocol';
import type { Check } from './doctor.js';

/** What `telemy doctor` learned from OBS about the inputs sources name: each one's media state, or absent. */
export interface ObsInputs {
  /** Input name → its media state (`playing`, `stopped`, …; null for an input that is no media source). */
  states: Map<string, string | null>;
}

export interface SourceCheckOptions {
  timeoutMs: number;
  /** OBS's inputs, or null when OBS could not be asked (its own line says why). */
  obs: ObsInputs | null;
  /** A vault entry, for types that sign in (`password_key`). */
  secret: (key: string) => string | null;
}

/** What one run of a source's module gave: its first reading, a look that found nothing new, or nothing. */
type Reading = { kind: 'sample'; sample: FeedSample } | { kind: 'looked' } | { kind: 'silent' };

const CONNECT_FEED = 'README: Connect your feed';

/**
 * One line per `[[sources]]` entry: does it answer, and does its answer parse. Each source is read
 * once by its own type's module (the code the engine runs), so doctor judges what the engine will
 * see; OBS inputs come from the OBS check, which has the connection.
 */
export async function checkSources(sources: SourceConfig[], opts: SourceCheckOptions): Promise<Check[]> {
  if (sources.length === 0)
    return [
      {
        level: 'ok',
        what: 'sources',
        detail: `none configured: the feed is OBS's own stream output (${CONNECT_FEED} adds your ingest)`,
      },
    ];
  const modules = sources.some((s) => s.enabled && needsModule(s.type))
    ? (await import('@telemy/engine')).SOURCE_MODULES
    : null;
  const lines = await Promise.all(
    sources.map(async (s) => {
      const checks = [await checkSource(s, modules?.[s.type] ?? null, opts)];
      const input = inputCheck(s, opts.obs);
      if (input) checks.push(input);
      return checks;
    }),
  );
  return lines.flat();
}

function needsModule(type: SourceType): boolean {
  return type !== 'obs_output' && type !== 'relay' && type !== 'obs_media_source';
}

async function checkSource(
  s: SourceConfig,
  module: SourceModule | null,
  opts: SourceCheckOptions,
): Promise<Check> {
  const what = `source ${s.name}`;
  const line = (level: Check['level'], detail: string): Check => ({
    level,
    what,
    detail: `${s.type}: ${detail}`,
  });
  if (!s.enabled) return line('ok', 'disabled (enabled = false)');
  if (s.type === 'obs_output') return line('ok', "OBS's own stream output, read from OBS while it streams");
  if (s.type === 'relay')
    return line('ok', "the relay's telemetry, read while an IRL session runs (docs/irl.md)");
  if (s.type === 'obs_media_source') return mediaSourceCheck(s, opts.obs, line);
  if (!module) return line('FAIL', 'no module for this type');

  if (s.type === 'srt_live_transmit') {
    const file = s.stats_file ?? '';
    if (!existsSync(file))
      return line(
        'warn',
        `stats file ${file} not found: srt-live-transmit is not running, or not with -pf:json -statsout:${file} (${CONNECT_FEED})`,
      );
  } else {
    const answer = await answers(s.url ?? '', opts.timeoutMs);
    if (answer) return line('FAIL', `${s.url} ${answer} — check url and that the server runs`);
  }
  const reading = await readOnce(module, s, opts);
  return describeReading(s, reading, line);
}

/**
 * Null when a server answers HTTP at `url` at all; else why not. Whether its answer is the stats is
 * the module's reading: for some types `url` is the server's address, not the stats path.
 */
async function answers(url: string, timeoutMs: number): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return null;
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') return `did not answer within ${timeoutMs} ms`;
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : errorText(err);
    return `does not answer (${cause})`;
  }
}

function describeReading(
  s: SourceConfig,
  reading: Reading,
  line: (level: Check['level'], detail: string) => Check,
): Check {
  if (reading.kind === 'silent') return line('warn', 'gave no reading in time');
  if (reading.kind === 'looked')
    return line('ok', 'stats file there, no line yet (srt-live-transmit writes them while a feed arrives)');
  const r = reading.sample;
  if (r.unknown) return line('warn', `cannot tell now: ${r.reason ?? 'no reason given'}`);
  if (!r.connected) {
    // A stats file that exists always holds what srt-live-transmit wrote: a line it could not read is a format problem.
    if (s.type === 'srt_live_transmit')
      return line('FAIL', `${r.reason ?? 'unreadable line'} — run srt-live-transmit with -pf:json`);
    // The HTTP poller's words for a stats request the server refused (404, 500): the url is wrong.
    if (r.reason?.startsWith('stats endpoint answered HTTP'))
      return line('FAIL', `${r.reason} — check url (${s.url})`);
    return line('warn', `answers; no feed on it now: ${r.reason ?? 'offline'}`);
  }
  const figures = [
    r.bitrate_kbps === null ? 'bitrate from the next reading' : `${Math.round(r.bitrate_kbps)} kb/s`,
    // A local link's RTT is under a millisecond: rounded, it would read 0.
    ...(r.rtt_ms === null ? [] : [`RTT ${r.rtt_ms < 10 ? r.rtt_ms.toFixed(1) : Math.round(r.rtt_ms)} ms`]),
  ].join(', ');
  const where = s.type === 'srt_live_transmit' ? 'the last stats line parses' : 'answers and parses';
  if (r.missing && r.missing.length > 0)
    return line(
      'warn',
      `${where}, but lacks ${r.missing.join(', ')} (not judged without it); feed connected, ${figures}`,
    );
  return line('ok', `${where}: feed connected, ${figures}`);
}

/**
 * Runs the type's module until its first reading that says something (or a look that found nothing
 * new), then stops it; an "unknown" reading (a sign-in still running) waits for the next poll.
 * Only file and HTTP types get here: they use neither OBS, the metrics hub nor the relay.
 */
function readOnce(module: SourceModule, config: SourceConfig, opts: SourceCheckOptions): Promise<Reading> {
  return new Promise((resolve) => {
    let done = false;
    let unknown: FeedSample | null = null;
    const finish = (r: Reading) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // The runner is stopped after the current turn: it may resolve us from inside its own poll.
      setImmediate(() => runner.stop());
      resolve(r);
    };
    const timer = setTimeout(
      () => finish(unknown ? { kind: 'sample', sample: unknown } : { kind: 'silent' }),
      // Three polls: the first may only start a sign-in, and a poll due while one runs is skipped.
      opts.timeoutMs * 3 + 100,
    );
    const ctx: SourceContext = {
      config,
      intervalMs: opts.timeoutMs,
      now: Date.now,
      ingest: (sample) => {
        if (sample.unknown) unknown = sample;
        else finish({ kind: 'sample', sample });
      },
      looked: () => finish({ kind: 'looked' }),
      every: (ms, poll) => {
        let t: NodeJS.Timeout | null = null;
        return {
          start: () => {
            t = setInterval(() => void poll().catch(() => undefined), ms);
            void poll().catch(() => undefined);
          },
          stop: () => {
            if (t) clearInterval(t);
          },
        };
      },
      obs: unavailable('OBS'),
      hub: unavailable('the metrics hub'),
      cloud: () => null,
      cloudStarting: () => false,
      secret: opts.secret,
    };
    const runner = module.runner(ctx);
    runner.start();
  });
}

/** Stands in for what doctor does not run: using it is a bug, said by name. */
function unavailable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: () => {
      throw new Error(`telemy doctor: ${what} is not available to a source check`);
    },
  });
}

function mediaSourceCheck(
  s: SourceConfig,
  obs: ObsInputs | null,
  line: (level: Check['level'], detail: string) => Check,
): Check {
  const input = s.input ?? '';
  if (!obs) return line('warn', `cannot check '${input}' without OBS`);
  if (!obs.states.has(input)) return line('FAIL', `'${input}' is no source in OBS — create it, or fix input`);
  const state = obs.states.get(input);
  if (state === null) return line('FAIL', `'${input}' is not a media source in OBS`);
  return state === 'playing'
    ? line('ok', `'${input}' is playing`)
    : line(
        'warn',
        `'${input}' exists in OBS, not playing now (${state ?? 'no state'}): offline until it plays`,
      );
}

/** The OBS input a source names for its picture (`input` on any type but obs_media_source): OBS must have it. */
function inputCheck(s: SourceConfig, obs: ObsInputs | null): Check | null {
  if (!s.enabled || s.type === 'obs_media_source' || !s.input || !obs) return null;
  if (obs.states.has(s.input))
    return { level: 'ok', what: `source ${s.name}`, detail: `picture: '${s.input}' exists in OBS` };
  return {
    level: 'warn',
    what: `source ${s.name}`,
    detail: `picture: '${s.input}' is no source in OBS, so LIVE cannot wait for its picture — create it, or fix input`,
  };
}

/** The inputs of OBS that sources name, with their media state; asked over doctor's OBS connection. */
export async function readObsInputs(
  call: (type: string, data?: Record<string, unknown>) => Promise<unknown>,
  sources: SourceConfig[],
): Promise<ObsInputs> {
  const list = (await call('GetInputList')) as { inputs?: Array<{ inputName?: unknown }> };
  const existing = new Set((list.inputs ?? []).map((i) => String(i.inputName)));
  const states = new Map<string, string | null>();
  for (const s of sources) {
    if (!s.enabled || !s.input || !existing.has(s.input) || states.has(s.input)) continue;
    const status = await call('GetMediaInputStatus', { inputName: s.input }).catch(() => null);
    const raw = (status as { mediaState?: unknown } | null)?.mediaState;
    states.set(s.input, typeof raw === 'string' ? raw.replace(/^OBS_MEDIA_STATE_/, '').toLowerCase() : null);
  }
  for (const name of existing) if (!states.has(name)) states.set(name, null);
  return { states };
}
