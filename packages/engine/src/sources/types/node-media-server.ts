import { backoffMs, errorText } from '@telemy/protocol';
import type { ParseOutcome } from '../feed-sample.js';
import type { StatsRequest } from '../http-poller.js';
import { httpStatsSource, type SourceContext, type SourceModule } from '../source-module.js';
import { isObject, num, parseJson } from '../stats-json.js';

/**
 * node-media-server 4 `GET /api/v1/streams`:
 * `{ success, data: { streams: [{ app, name, status, publisher: { inBytes, … } | null, inBps }] } }`.
 * `publisher` picks the app (`live`), `stream` the stream name; without them the first stream counts.
 * `status` is `publishing`, `reconnecting` (the publisher left and the server holds its place for a
 * few seconds) or `idle` (players wait, nobody publishes). `inBps` is bytes/s averaged by the server
 * over its last five seconds; without it the publisher's lifetime `inBytes` gives the rate.
 */
export function parseNodeMediaServerStreams(text: string, app?: string, name?: string): ParseOutcome {
  const o = parseJson(text, 'node-media-server streams');
  if ('error' in o) return { kind: 'offline', reason: String(o.error) };
  const streams = isObject(o.data) && Array.isArray(o.data.streams) ? o.data.streams.filter(isObject) : null;
  if (streams === null) return { kind: 'offline', reason: 'node-media-server: no data.streams array' };
  const s = streams.find(
    (x) => (app === undefined || x.app === app) && (name === undefined || x.name === name),
  );
  const which = [app, name].filter((p) => p !== undefined).join('/') || 'any stream';
  if (!s) return { kind: 'offline', reason: `node-media-server: ${which} not publishing` };
  const label = `${String(s.app)}/${String(s.name)}`;
  if (s.status === 'reconnecting')
    return { kind: 'offline', reason: `node-media-server: ${label} publisher left (server waits for it)` };
  if (s.status !== 'publishing' || !isObject(s.publisher))
    return { kind: 'offline', reason: `node-media-server: ${label} has no publisher` };
  const missing: string[] = [];
  const inBps = num(s, 'inBps', missing);
  const bytes = inBps === null ? num(s, 'publisher.inBytes', missing) : null;
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: inBps === null ? null : (inBps * 8) / 1000,
    rtt_ms: null,
    loss_pct: null,
    ...(bytes === null ? {} : { bytes_total: bytes }),
    missing,
  };
}

/** A refused sign-in is not asked again at once: the server locks the account after 5 failures. */
const SIGN_IN_RETRY = { baseMs: 30_000, maxMs: 15 * 60_000 };
/** The server checks the password with scrypt: a sign-in may take longer than one poll. */
const SIGN_IN_TIMEOUT_MS = 10_000;

type NoStats = { kind: 'offline' | 'unknown'; reason: string };
const SIGNING_IN: NoStats = { kind: 'unknown', reason: 'signing in to node-media-server' };

/**
 * The API wants a JWT from `POST /api/v1/login` (`username`, default `admin`, and the password from
 * the vault entry `password_key`). The token is kept until the server refuses it (expired, or the
 * server restarted with another secret), then the poll signs in again once. A sign-in runs apart
 * from the polls: one that outlasts a poll says nothing about the feed (unknown) and the next poll
 * waits for the same sign-in.
 */
function signedInRequest(ctx: SourceContext): StatsRequest {
  const base = (ctx.config.url ?? '').replace(/\/+$/, '').replace(/\/api\/v1(\/.*)?$/, '');
  const user = ctx.config.username ?? 'admin';
  let token: string | null = null;
  let refused: { reason: string; until: number; attempts: number } | null = null;
  let pending: Promise<string | NoStats> | null = null;

  const signIn = async (): Promise<string | NoStats> => {
    const offline = (reason: string): NoStats => ({ kind: 'offline', reason });
    const key = ctx.config.password_key;
    if (key === undefined)
      return offline('node-media-server: set password_key (its API wants an admin sign-in)');
    let password: string | null;
    try {
      password = ctx.secret(key);
    } catch (err) {
      return offline(`node-media-server: vault entry ${key}: ${errorText(err)}`);
    }
    if (password === null) return offline(`node-media-server: vault entry ${key} is not set`);
    let res: Response;
    try {
      res = await fetch(`${base}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: user, password }),
        signal: AbortSignal.timeout(SIGN_IN_TIMEOUT_MS),
      });
    } catch (err) {
      return offline(`node-media-server sign-in failed: ${errorText(err)}`);
    }
    const body = parseJson(await res.text(), 'node-media-server login');
    const got = 'error' in body || !isObject(body.data) ? undefined : body.data.token;
    if (res.ok && typeof got === 'string') {
      refused = null;
      token = got;
      return got;
    }
    const attempts = (refused?.attempts ?? 0) + 1;
    const reason = `node-media-server refused the sign-in of ${user} (HTTP ${res.status})`;
    refused = { reason, until: ctx.now() + backoffMs(SIGN_IN_RETRY, attempts - 1), attempts };
    return offline(reason);
  };

  /** The token, signing in when there is none (one sign-in at a time), or why there is none. */
  const tokenFor = async (signal: AbortSignal): Promise<string | NoStats> => {
    if (token !== null) return token;
    if (refused && ctx.now() < refused.until) return { kind: 'offline', reason: refused.reason };
    pending ??= signIn().finally(() => {
      pending = null;
    });
    const outlasted = new Promise<NoStats>((resolve) =>
      signal.addEventListener('abort', () => resolve(SIGNING_IN), { once: true }),
    );
    return Promise.race([pending, outlasted]);
  };

  const streams = (signal: AbortSignal, t: string) =>
    fetch(`${base}/api/v1/streams`, { headers: { authorization: `Bearer ${t}` }, signal });

  /** A poll that signed in and then ran out of time for the stats: nothing is known yet. */
  const readAfterSignIn = async (signal: AbortSignal, t: string) => {
    try {
      return await streams(signal, t);
    } catch (err) {
      if (signal.aborted) return SIGNING_IN;
      throw err;
    }
  };

  return async (signal) => {
    const reused = token !== null;
    const t = await tokenFor(signal);
    if (typeof t !== 'string') return t;
    const res = reused ? await streams(signal, t) : await readAfterSignIn(signal, t);
    if (!(res instanceof Response) || res.status !== 401) return res;
    token = null;
    if (!reused) return res;
    await res.body?.cancel();
    const fresh = await tokenFor(signal);
    return typeof fresh === 'string' ? readAfterSignIn(signal, fresh) : fresh;
  };
}

/** node-media-server 4: its HTTP API (`url` is the server's HTTP address, e.g. http://127.0.0.1:8000). */
export const source: SourceModule = httpStatsSource(
  (body, config) => parseNodeMediaServerStreams(body, config.publisher, config.stream),
  signedInRequest,
);
