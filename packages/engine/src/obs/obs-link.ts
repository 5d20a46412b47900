import { EventEmitter } from 'node:events';
import { backoffMs, errorText, type Logger, stallTolerantDeadline } from '@telemy/protocol';
import OBSWebSocket, {
  EventSubscription,
  type OBSEventTypes,
  type OBSRequestTypes,
  type OBSResponseTypes,
  OBSWebSocketError,
  RequestBatchExecutionType,
  type RequestBatchOptions,
  type RequestBatchRequest,
  type ResponseMessage,
} from 'obs-websocket-js';
import type { EngineMetrics } from '../metrics/metrics.js';
import {
  initialObsState,
  type ObsOutputInfo,
  type ObsState,
  orderScenes,
  toOutputInfo,
} from './obs-state.js';
import { obsRequestReason } from './request-status.js';

export interface ObsLinkOptions {
  host: string;
  port: number;
  /** obs-websocket password; empty/undefined when OBS has authentication disabled. */
  password?: string | null;
  logger: Logger;
  metrics: EngineMetrics;
  now?: () => number;
  /** How often a cheap request checks that OBS still answers. Default 1000 ms. */
  keepaliveIntervalMs?: number;
  /** A keepalive unanswered for this long drops the session. Default 1500 ms (dead socket noticed < 3 s). */
  keepaliveTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`. Default 250 ms. */
  initialBackoffMs?: number;
  /** Default 5000 ms. */
  maxBackoffMs?: number;
  /** Retry delay after OBS rejected the password: slow, so a wrong password never storms OBS. Default 30 s. */
  authRetryMs?: number;
  /** Default timeout of `call()` / `callBatch()`. Default 5000 ms. */
  requestTimeoutMs?: number;
}

export interface ObsLinkEvents {
  state: [ObsState];
  connected: [ObsState];
  disconnected: [reason: string];
  sceneChanged: [scene: string];
  scenesChanged: [scenes: string[]];
  streamStateChanged: [streaming: boolean];
  recordStateChanged: [recording: boolean];
  outputsChanged: [outputs: ObsOutputInfo[]];
}

/** Thrown by `call()` / `callBatch()` when there is no identified session (or it drops mid-request). */
export class ObsNotConnectedError extends Error {
  constructor(message = 'OBS is not connected') {
    super(message);
    this.name = 'ObsNotConnectedError';
  }
}

/** Thrown by `call()` when OBS answered with a failed request status. */
export class ObsRequestError extends Error {
  /** What went wrong in words, without the request's name (what a chat reply says). */
  readonly reason: string;

  constructor(
    readonly requestType: string,
    readonly code: number,
    comment: string,
  ) {
    const reason = obsRequestReason(code, comment);
    super(`OBS refused ${requestType}: ${reason}`);
    this.name = 'ObsRequestError';
    this.reason = reason;
  }
}

export class ObsTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`OBS did not answer ${what} within ${ms} ms`);
    this.name = 'ObsTimeoutError';
  }
}

const AUTH_FAILED = 4009;

const SUBSCRIPTIONS =
  EventSubscription.General | EventSubscription.Config | EventSubscription.Scenes | EventSubscription.Outputs;

interface Session {
  ws: OBSWebSocket;
  /**
   * Aborts of in-flight requests: they fail fast when the session ends instead of hanging
   * (obs-websocket-js never settles requests whose socket closed). A Set rather than racing a
   * long-lived promise, whose reactions would pile up for the whole session.
   */
  pending: Set<(err: Error) => void>;
  keepalive: NodeJS.Timeout | null;
  probing: boolean;
  closing: boolean;
  streamStartedAt: number | null;
  recordStartedAt: number | null;
}

type OutageKind = 'unreachable' | 'auth' | 'other';

/**
 * The engine's connection to OBS over obs-websocket v5.
 *
 * It keeps one identified session alive (keepalive, capped-backoff reconnect, slow retry after a
 * rejected password), resynchronises scenes / program scene / outputs / stream and record state
 * after every (re)connect, follows OBS's events, and exposes ordered (`call`) and batched
 * (`callBatch`) requests. Nothing it does throws out of the event loop; problems become state.
 */
export class ObsLink extends EventEmitter<ObsLinkEvents> {
  readonly url: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly opt: Required<
    Pick<
      ObsLinkOptions,
      | 'keepaliveIntervalMs'
      | 'keepaliveTimeoutMs'
      | 'initialBackoffMs'
      | 'maxBackoffMs'
      | 'authRetryMs'
      | 'requestTimeoutMs'
    >
  >;
  private st: ObsState;
  private password: string | null | undefined;
  private session: Session | null = null;
  private running = false;
  private connectTimer: NodeJS.Timeout | null = null;
  /** One handshake at a time, even when `setPassword()` asks for an early retry mid-attempt. */
  private connecting = false;
  private failedAttempts = 0;
  private everConnected = false;
  /** The kind of outage already reported, so a long outage is logged once, not on every retry. */
  private reportedOutage: OutageKind | null = null;
  private serial: Promise<unknown> = Promise.resolve();
  private sceneRefresh: { running: boolean; again: boolean } = { running: false, again: false };
  private outputRefresh: { running: boolean; again: boolean } = { running: false, again: false };

  constructor(private readonly options: ObsLinkOptions) {
    super();
    this.url = `ws://${options.host}:${options.port}`;
    this.log = options.logger;
    this.password = options.password;
    this.now = options.now ?? Date.now;
    this.opt = {
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 1000,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 1500,
      initialBackoffMs: options.initialBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 5000,
      authRetryMs: options.authRetryMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    };
    this.st = initialObsState(this.url);
    options.metrics.obsConnected.set(0);
  }

  /** Starts connecting (and keeps reconnecting until `stop()`). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleConnect(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const s = this.session;
    if (s) {
      this.endSession(s, 'engine stopping', false);
      await withTimeout(s.ws.disconnect(), 1000, 'disconnect').catch(() => undefined);
    }
    this.patch({ connection: 'disconnected', lastError: null });
  }

  /**
   * Replaces the password (e.g. after `telemy vault set obs_password`). While OBS is rejecting the
   * old one, it retries at once instead of waiting out the slow auth retry.
   */
  setPassword(password: string | null | undefined): void {
    this.password = password;
    if (this.running && this.st.connection === 'auth_failed' && !this.session) this.scheduleConnect(0);
  }

  /** A copy of the current state; durations are computed at call time. */
  state(): ObsState {
    const s = this.session;
    const t = this.now();
    return {
      ...this.st,
      scenes: [...this.st.scenes],
      outputs: this.st.outputs.map((o) => ({ ...o })),
      streamDurationMs: s?.streamStartedAt != null && this.st.streaming ? t - s.streamStartedAt : null,
      recordDurationMs: s?.recordStartedAt != null && this.st.recording ? t - s.recordStartedAt : null,
    };
  }

  get connected(): boolean {
    return this.st.connection === 'connected';
  }

  /**
   * One request, run after every earlier `call()` has finished: obs-websocket executes
   * back-to-back requests concurrently, so e.g. "create scene" then "switch to it" must be ordered.
   */
  call<T extends keyof OBSRequestTypes>(
    requestType: T,
    requestData?: OBSRequestTypes[T],
    timeoutMs = this.opt.requestTimeoutMs,
  ): Promise<OBSResponseTypes[T]> {
    const run = () => this.callNow(requestType, requestData, timeoutMs);
    const result = this.serial.then(run, run);
    this.serial = result.catch(() => undefined);
    return result;
  }

  /**
   * Several requests in ONE round trip, executed by OBS in order (`SerialRealtime`). Failed
   * requests are reported in their response's `requestStatus`, not thrown. Not queued behind `call()`.
   */
  async callBatch(
    requests: RequestBatchRequest[],
    options: RequestBatchOptions = {},
    timeoutMs = this.opt.requestTimeoutMs,
  ): Promise<ResponseMessage[]> {
    const s = this.requireSession();
    return this.guard(
      s,
      s.ws.callBatch(requests, {
        executionType: RequestBatchExecutionType.SerialRealtime,
        haltOnFailure: false,
        ...options,
      }),
      timeoutMs,
      `a batch of ${requests.length}`,
    );
  }

  private async callNow<T extends keyof OBSRequestTypes>(
    requestType: T,
    requestData: OBSRequestTypes[T] | undefined,
    timeoutMs: number,
  ): Promise<OBSResponseTypes[T]> {
    const s = this.requireSession();
    try {
      return await this.guard(s, s.ws.call(requestType, requestData), timeoutMs, requestType);
    } catch (err) {
      if (err instanceof OBSWebSocketError) throw new ObsRequestError(requestType, err.code, err.message);
      throw err;
    }
  }

  private requireSession(): Session {
    const s = this.session;
    if (!s || s.closing || !s.ws.identified) throw new ObsNotConnectedError();
    return s;
  }

  private guard<R>(s: Session, p: Promise<R>, timeoutMs: number, what: string): Promise<R> {
    if (s.closing) return Promise.reject(new ObsNotConnectedError());
    return new Promise<R>((resolve, reject) => {
      const settle = () => {
        deadline.clear();
        s.pending.delete(abort);
      };
      const abort = (err: Error) => {
        settle();
        reject(err);
      };
      // OBS is blamed only for its own silence: after the engine's stall its answer is read first.
      const deadline = stallTolerantDeadline(timeoutMs, () => abort(new ObsTimeoutError(what, timeoutMs)));
      s.pending.add(abort);
      p.then(
        (v) => {
          settle();
          resolve(v);
        },
        (e: unknown) => {
          settle();
          reject(e);
        },
      );
    });
  }

  // ---- connection lifecycle -------------------------------------------------------------------

  private scheduleConnect(delayMs: number): void {
    if (!this.running) return;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      this.connectOnce().catch((err: unknown) => {
        this.log.error({ err }, 'unexpected error in the OBS connect loop');
        this.scheduleConnect(this.opt.maxBackoffMs);
      });
    }, delayMs);
  }

  private async connectOnce(): Promise<void> {
    if (!this.running || this.session || this.connecting) return;
    this.connecting = true;
    try {
      await this.attempt();
    } finally {
      this.connecting = false;
    }
  }

  private async attempt(): Promise<void> {
    const ws = new OBSWebSocket();
    const password = this.password;
    this.patch({
      connectAttempts: this.st.connectAttempts + 1,
      ...(this.st.connection === 'auth_failed' ? {} : { connection: 'connecting' as const }),
    });
    let hello: Awaited<ReturnType<OBSWebSocket['connect']>>;
    try {
      hello = await withTimeout(
        ws.connect(this.url, password || undefined, {
          rpcVersion: 1,
          eventSubscriptions: SUBSCRIPTIONS,
        }),
        this.opt.requestTimeoutMs,
        'the handshake',
      );
    } catch (err) {
      ws.removeAllListeners();
      void ws.disconnect().catch(() => undefined);
      this.onConnectFailed(err, password);
      return;
    }
    if (!this.running) {
      void ws.disconnect().catch(() => undefined);
      return;
    }
    const session = this.openSession(ws);
    this.patch({ obsWebSocketVersion: hello.obsWebSocketVersion });
    try {
      await this.resync(session);
    } catch (err) {
      if (this.session !== session) return;
      this.log.warn({ err }, 'OBS resync after connect failed; reconnecting');
      this.endSession(session, `resync failed: ${errorText(err)}`, true);
      return;
    }
    if (this.session !== session) return;
    this.failedAttempts = 0;
    const wasOutage = this.reportedOutage !== null || this.everConnected;
    this.reportedOutage = null;
    this.patch({
      connection: 'connected',
      lastError: null,
      connectedSince: this.now(),
      reconnects: this.everConnected ? this.st.reconnects + 1 : this.st.reconnects,
    });
    this.everConnected = true;
    this.options.metrics.obsConnected.set(1);
    this.log.info(
      { url: this.url, obsVersion: this.st.obsVersion, scenes: this.st.scenes.length },
      wasOutage ? 'reconnected to OBS' : 'connected to OBS',
    );
    this.startKeepalive(session);
    this.emit('connected', this.state());
  }

  private onConnectFailed(err: unknown, triedPassword: string | null | undefined): void {
    if (!this.running) return;
    const code = err instanceof OBSWebSocketError ? err.code : null;
    if (code === AUTH_FAILED) {
      const line = triedPassword
        ? 'OBS rejected the password — set the right one with `telemy vault set obs_password`'
        : 'OBS requires a password — set it with `telemy vault set obs_password`';
      if (this.reportedOutage !== 'auth') this.log.error({ url: this.url }, line);
      else this.log.debug({ url: this.url }, 'OBS still rejects the password');
      this.reportedOutage = 'auth';
      this.patch({ connection: 'auth_failed', lastError: line });
      // A password set while this attempt was under way gets its chance at once.
      this.scheduleConnect(triedPassword === this.password ? this.opt.authRetryMs : 0);
      return;
    }
    const unreachable = isUnreachable(err);
    const line = unreachable
      ? `OBS is not reachable at ${this.url} — is OBS running with obs-websocket enabled (Tools → WebSocket Server Settings)? Retrying.`
      : `could not connect to OBS at ${this.url}: ${errorText(err)}`;
    const kind: OutageKind = unreachable ? 'unreachable' : 'other';
    if (this.reportedOutage !== kind) this.log.warn({ url: this.url }, line);
    else this.log.debug({ url: this.url, err }, 'OBS connect attempt failed');
    this.reportedOutage = kind;
    this.patch({ connection: 'disconnected', lastError: line });
    this.failedAttempts++;
    this.scheduleConnect(this.backoff());
  }

  private backoff(): number {
    return backoffMs(
      { baseMs: this.opt.initialBackoffMs, maxMs: this.opt.maxBackoffMs },
      this.failedAttempts - 1,
    );
  }

  private openSession(ws: OBSWebSocket): Session {
    const session: Session = {
      ws,
      pending: new Set(),
      keepalive: null,
      probing: false,
      closing: false,
      streamStartedAt: null,
      recordStartedAt: null,
    };
    this.session = session;
    ws.on('ConnectionClosed', (e) => {
      this.endSession(
        session,
        `OBS closed the connection (${e.code}${e.message ? `: ${e.message}` : ''})`,
        true,
      );
    });
    ws.on('ConnectionError', (e) => {
      this.endSession(session, `OBS connection error: ${e.message}`, true);
    });
    const on = <E extends keyof OBSEventTypes>(event: E, handler: (data: OBSEventTypes[E]) => void) => {
      // biome-ignore lint/suspicious/noExplicitAny: eventemitter3's listener type is not generic-friendly here
      (ws.on as any)(event, (data: OBSEventTypes[E]) => {
        if (this.session !== session) return;
        try {
          handler(data);
        } catch (err) {
          this.log.error({ err, event }, 'error while handling an OBS event');
        }
      });
    };
    on('CurrentProgramSceneChanged', (d) => this.setCurrentScene(d.sceneName));
    on('SceneListChanged', (d) => this.setScenes(orderScenes(d.scenes as Array<Record<string, unknown>>)));
    on('SceneCreated', () => this.refreshScenes(session));
    on('SceneRemoved', () => this.refreshScenes(session));
    on('SceneNameChanged', () => this.refreshScenes(session));
    on('CurrentSceneCollectionChanged', () => {
      this.resync(session).catch((err: unknown) => this.log.warn({ err }, 'OBS resync failed'));
    });
    on('StreamStateChanged', (d) => {
      session.streamStartedAt = startedAt(d.outputState, session.streamStartedAt, this.now());
      this.setStreaming(d.outputActive);
      this.refreshOutputs(session);
    });
    on('RecordStateChanged', (d) => {
      session.recordStartedAt = startedAt(d.outputState, session.recordStartedAt, this.now());
      this.setRecording(d.outputActive);
      this.refreshOutputs(session);
    });
    on('ExitStarted', () => {
      this.log.info('OBS is shutting down');
    });
    return session;
  }

  /** Ends a session once; `reconnect` false only when the engine itself is stopping. */
  private endSession(session: Session, reason: string, reconnect: boolean): void {
    if (session.closing) return;
    session.closing = true;
    if (session.keepalive) clearInterval(session.keepalive);
    const lost = new ObsNotConnectedError(`OBS connection lost: ${reason}`);
    for (const abort of [...session.pending]) abort(lost);
    session.ws.removeAllListeners();
    if (this.session === session) this.session = null;
    const wasConnected = this.st.connection === 'connected';
    this.options.metrics.obsConnected.set(0);
    if (!reconnect) return;
    void session.ws.disconnect().catch(() => undefined);
    this.patch({
      connection: 'disconnected',
      lastError: reason,
      connectedSince: null,
      streaming: false,
      recording: false,
    });
    if (wasConnected) {
      this.log.warn({ url: this.url }, `lost the OBS connection: ${reason}; reconnecting`);
      this.emit('disconnected', reason);
    }
    this.failedAttempts = 0;
    this.scheduleConnect(this.opt.initialBackoffMs);
  }

  private startKeepalive(session: Session): void {
    session.keepalive = setInterval(() => {
      if (session.probing || session.closing) return;
      session.probing = true;
      this.guard(
        session,
        session.ws.call('GetStudioModeEnabled'),
        this.opt.keepaliveTimeoutMs,
        'the keepalive',
      )
        .catch((err: unknown) => {
          if (err instanceof ObsTimeoutError) {
            this.endSession(
              session,
              `OBS stopped answering (no keepalive reply in ${this.opt.keepaliveTimeoutMs} ms)`,
              true,
            );
          }
        })
        .finally(() => {
          session.probing = false;
        });
    }, this.opt.keepaliveIntervalMs);
  }

  // ---- state sync ---------------------------------------------------------------------------

  /** Full resync in one round trip: version, scenes, program scene, outputs, stream/record status. */
  private async resync(session: Session): Promise<void> {
    const res = await this.guard(
      session,
      session.ws.callBatch(
        [
          { requestType: 'GetVersion' },
          { requestType: 'GetSceneList', requestData: {} },
          { requestType: 'GetStreamStatus' },
          { requestType: 'GetRecordStatus' },
          { requestType: 'GetOutputList' },
        ],
        { executionType: RequestBatchExecutionType.SerialRealtime, haltOnFailure: false },
      ),
      this.opt.requestTimeoutMs,
      'the resync batch',
    );
    if (this.session !== session) return;
    const data = (type: string) => {
      const r = res.find((x) => x.requestType === type);
      return r?.requestStatus.result ? (r.responseData as unknown as Record<string, unknown>) : null;
    };
    const version = data('GetVersion');
    const scenes = data('GetSceneList');
    if (!scenes) throw new Error('GetSceneList failed');
    const stream = data('GetStreamStatus');
    const record = data('GetRecordStatus');
    const outputs = data('GetOutputList');
    const t = this.now();
    const streaming = stream?.outputActive === true;
    const recording = record?.outputActive === true;
    session.streamStartedAt = streaming ? t - Number(stream?.outputDuration ?? 0) : null;
    session.recordStartedAt = recording ? t - Number(record?.outputDuration ?? 0) : null;
    if (typeof version?.obsVersion === 'string') this.patch({ obsVersion: version.obsVersion });
    this.setScenes(orderScenes((scenes.scenes as Array<Record<string, unknown>>) ?? []));
    const current = scenes.currentProgramSceneName;
    if (typeof current === 'string') this.setCurrentScene(current);
    this.setStreaming(streaming);
    this.setRecording(recording);
    if (outputs) this.setOutputs(parseOutputs(outputs.outputs));
  }

  /** Coalesced `GetSceneList` after create/remove/rename events. */
  private refreshScenes(session: Session): void {
    this.coalesce(this.sceneRefresh, session, async () => {
      const r = await this.guard(
        session,
        session.ws.call('GetSceneList'),
        this.opt.requestTimeoutMs,
        'GetSceneList',
      );
      if (this.session !== session) return;
      this.setScenes(orderScenes(r.scenes as Array<Record<string, unknown>>));
      if (r.currentProgramSceneName) this.setCurrentScene(r.currentProgramSceneName);
    });
  }

  private refreshOutputs(session: Session): void {
    this.coalesce(this.outputRefresh, session, async () => {
      const r = await this.guard(
        session,
        session.ws.call('GetOutputList'),
        this.opt.requestTimeoutMs,
        'GetOutputList',
      );
      if (this.session === session) this.setOutputs(parseOutputs(r.outputs));
    });
  }

  private coalesce(
    flag: { running: boolean; again: boolean },
    session: Session,
    job: () => Promise<void>,
  ): void {
    if (flag.running) {
      flag.again = true;
      return;
    }
    flag.running = true;
    const loop = async (): Promise<void> => {
      do {
        flag.again = false;
        await job().catch((err: unknown) => {
          if (!session.closing) this.log.debug({ err }, 'OBS refresh failed');
        });
      } while (flag.again && !session.closing);
      flag.running = false;
    };
    void loop();
  }

  /** Called by the metrics hub with the output list it polls anyway. */
  updateOutputs(outputs: ObsOutputInfo[]): void {
    this.setOutputs(outputs);
  }

  private setScenes(scenes: string[]): void {
    if (sameList(scenes, this.st.scenes)) return;
    this.patch({ scenes });
    this.emit('scenesChanged', [...scenes]);
  }

  private setCurrentScene(scene: string): void {
    if (scene === this.st.currentScene) return;
    this.patch({ currentScene: scene });
    this.emit('sceneChanged', scene);
  }

  private setStreaming(streaming: boolean): void {
    if (streaming === this.st.streaming) return;
    this.patch({ streaming });
    this.emit('streamStateChanged', streaming);
  }

  private setRecording(recording: boolean): void {
    if (recording === this.st.recording) return;
    this.patch({ recording });
    this.emit('recordStateChanged', recording);
  }

  private setOutputs(outputs: ObsOutputInfo[]): void {
    if (JSON.stringify(outputs) === JSON.stringify(this.st.outputs)) return;
    this.patch({ outputs });
    this.emit(
      'outputsChanged',
      outputs.map((o) => ({ ...o })),
    );
  }

  private patch(p: Partial<ObsState>): void {
    let changed = false;
    for (const [k, v] of Object.entries(p)) {
      if ((this.st as unknown as Record<string, unknown>)[k] !== v) changed = true;
    }
    if (!changed) return;
    this.st = { ...this.st, ...p };
    this.emit('state', this.state());
  }
}

export function parseOutputs(raw: unknown): ObsOutputInfo[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((o) => {
    const info = o && typeof o === 'object' ? toOutputInfo(o as Record<string, unknown>) : null;
    return info ? [info] : [];
  });
}

function startedAt(outputState: string, previous: number | null, now: number): number | null {
  if (outputState === 'OBS_WEBSOCKET_OUTPUT_STARTED') return now;
  if (outputState === 'OBS_WEBSOCKET_OUTPUT_STOPPED') return null;
  return previous;
}

function isUnreachable(err: unknown): boolean {
  const msg = errorText(err);
  return /ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|ECONNRESET|EADDRNOTAVAIL|socket hang up|did not answer the handshake/.test(
    msg,
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ObsTimeoutError(what, ms)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
