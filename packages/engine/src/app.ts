import { type Logger, makeMessage, telemyPaths } from '@telemy/protocol';
import type { FastifyInstance } from 'fastify';
import { AuditLog } from './chat/audit.js';
import type { ChatBridge } from './chat/bridge.js';
import { ENGINE_VERSION } from './cloudlink/client-info.js';
import type { CloudLink } from './cloudlink/cloudlink.js';
import { createCloudLink } from './cloudlink/from-config.js';
import { ConfigStore, effectiveChatBot, type TelemyConfig, userConfigFile } from './config/index.js';
import { engineChatActions } from './control/chat-actions.js';
import { handleDockAction } from './control/dock-actions.js';
import { EngineControl } from './control/engine-control.js';
import {
  apiStateOf,
  dockStateOf,
  type EngineParts,
  type EngineSnapshot,
  type FailoverTally,
  statusSnapshotOf,
  statusSummaryOf,
  takeSnapshot,
} from './control/engine-views.js';
import { FeedSources } from './control/feed-sources.js';
import { FailoverController } from './failover/controller.js';
import type { FailoverEvent } from './failover/events.js';
import { sceneOnAir } from './failover/machine.js';
import { IpcServer } from './ipc/ipc-server.js';
import { EngineMetrics } from './metrics/metrics.js';
import type { OtlpMetricsPush } from './metrics/otlp.js';
import { otlpDisabledStatus } from './metrics/otlp-status.js';
import { MetricsHub } from './obs/metrics-hub.js';
import { ObsLink } from './obs/obs-link.js';
import { EngineStateFile } from './persist/engine-state-file.js';
import { DirectSceneSwitcher, obsLinkSwitchPort } from './scenes/direct-scene-switcher.js';
import type { SceneSwitcher } from './scenes/scene-switcher.js';
import { registerApiRoutes } from './server/api-routes.js';
import { type DockSocket, registerDockSocket } from './server/dock-socket.js';
import { SparklineHistory } from './server/dock-sparkline.js';
import type { EventInput } from './server/dock-state.js';
import { registerRelayRoutes } from './server/relay-routes.js';
import { createEngineServer } from './server/server.js';
import { SystemMetrics } from './system/system-metrics.js';
import { LOCAL_ACCESS_TOKEN_KEY, type Vault } from './vault/index.js';

export interface EngineOptions {
  config: TelemyConfig;
  configPath: string | null;
  vault: Vault;
  logger: Logger;
  /** Built dock files to serve at `/`, when available. */
  dockDir?: string | null;
  /**
   * Set when a shim supervises this engine (`telemy start`): scene switches then go to the shim over
   * IPC v1 in this folder, and the scene path is ready only while the shim answers.
   */
  ipcDir?: string | null;
  /** The embedded control plane's URL (`cloud.mode = "embedded"`); remote mode uses `cloud.base_url`. */
  cloudBaseUrl?: string | null;
  /**
   * Brings the embedded control plane up (`cloud.mode = "embedded"`): its child process, resolved
   * once it serves. Called on demand — the first IRL start, or at startup when a relay session was
   * running — because PGlite costs ~700 MB of memory and seconds of start-up that a streamer in
   * studio mode should not pay.
   */
  startCloud?: () => Promise<void>;
  /** Called when OBS is shutting down (`obs_shutdown_notice`): the engine has flushed and should exit. */
  onObsShutdown?: () => void;
  now?: () => number;
}

/** Durations and elapsed times in a snapshot are at most this stale when nothing else changed. */
const SNAPSHOT_MAX_AGE_MS = 250;

export interface EngineUrls {
  dashboard: string;
  dashboardWithToken: string;
  metrics: string;
}

/**
 * The engine process's composition root: builds every subsystem from the config, wires their events
 * together and owns start/stop. Construction does no I/O; `start()` brings everything up and never
 * fails because OBS, the shim or the control plane is absent: each says so in the state and retries.
 */
export class EngineApp {
  readonly metrics = new EngineMetrics();
  readonly obs: ObsLink;
  readonly hub: MetricsHub;
  readonly system: SystemMetrics;
  readonly store: ConfigStore;
  readonly controller: FailoverController;
  readonly control: EngineControl;
  readonly feed: FeedSources;
  readonly ipc: IpcServer | null;
  readonly cloud: CloudLink | null;
  /** Built in `start()` when a platform is configured: the chat libraries load only then. */
  chat: ChatBridge | null = null;
  private autoSwitchText: ((scene: string, why: string, kbps: number | null) => string) | null = null;
  private readonly history: SparklineHistory;
  private readonly stateFile: EngineStateFile;
  /** Counters saved by earlier runs: the file keeps lifetime totals, this process adds its own. */
  private readonly savedCounters: { failovers: number; switches: number };
  private readonly chatEvents: EventInput[] = [];
  private readonly acked = new Set<number>();
  private readonly tally: FailoverTally = { count: 0, last: null, lastDetectionToSwitchMs: null };
  private readonly parts: EngineParts;
  /** The snapshot every view is built from; rebuilt when something changed (or it is 250 ms old). */
  private cached: EngineSnapshot | null = null;
  /** Set when stop() begins: links closing from then on are the shutdown, not a failure to act on. */
  private stopping = false;
  private programSince: number | null = null;
  private dock: DockSocket | null = null;
  private server: FastifyInstance | null = null;
  private cloudUp: Promise<void> | null = null;
  /** The control plane is being brought up and asked for a running session (`ensureCloud`). */
  private cloudStarting = false;
  private otlp: OtlpMetricsPush | null = null;
  private token = '';
  private readonly startedAt: number;
  private readonly now: () => number;

  constructor(private readonly opts: EngineOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    const { config, logger, vault } = opts;
    const child = (component: string) => logger.child({ component });
    const paths = telemyPaths();
    this.store = new ConfigStore(config, opts.configPath, process.env.TELEMY_CONFIG ?? userConfigFile());
    this.stateFile = new EngineStateFile(paths.data);
    const saved = this.stateFile.load().state;
    this.savedCounters = saved.counters;
    this.obs = new ObsLink({
      host: config.obs.host,
      port: config.obs.port,
      password: vault.get(config.obs.password_key),
      logger: child('obs'),
      metrics: this.metrics,
    });
    this.system = new SystemMetrics({ metrics: this.metrics, logger: child('system') });
    this.hub = new MetricsHub({
      link: this.obs,
      metrics: this.metrics,
      logger: child('metrics'),
      outputs: config.outputs,
      system: this.system,
      intervalMs: config.failover.sample_interval_ms,
    });
    this.history = new SparklineHistory({ now: this.now });
    this.feed = new FeedSources({
      sources: config.sources,
      thresholds: config.failover,
      hub: this.hub,
      obs: this.obs,
      cloud: () => this.cloud,
      cloudStarting: () => this.cloudStarting,
      metrics: this.metrics,
      logger: child('sources'),
      now: this.now,
      onSample: () => this.controller.tick(),
      relayInput: () => {
        const session = this.cloud?.currentSession();
        return session && session.status !== 'stopped' ? config.relay.obs_source_name : null;
      },
      liveOnAir: () => {
        const st = this.controller.state();
        return sceneOnAir(st) === st.scenes.live;
      },
      secret: (key) => vault.get(key),
    });

    this.ipc = opts.ipcDir
      ? new IpcServer({
          dir: opts.ipcDir,
          logger: child('ipc'),
          metrics: this.metrics,
          coreVersion: ENGINE_VERSION,
          getStatusSnapshot: () => statusSnapshotOf(this.snapshot()),
          onSetMode: (mode) =>
            void (mode === 'irl' ? this.control.relayStart('dashboard') : this.control.relayStop()),
          onSetSetting: (key, value) => void this.control.setFlag(key, value),
          onObsShutdown: () => void this.stop().finally(() => opts.onObsShutdown?.()),
        })
      : null;
    const switcher: SceneSwitcher = this.ipc ?? new DirectSceneSwitcher(obsLinkSwitchPort(this.obs));

    this.controller = new FailoverController({
      params: config.failover,
      flags: { ...config.automation, chat_bot: effectiveChatBot(config) },
      scenes: config.scenes,
      switcher,
      scenePathVia: this.ipc ? 'ipc' : 'obs',
      metrics: this.metrics,
      logger,
      now: this.now,
      readProgramScene: async () =>
        (await this.obs.call('GetCurrentProgramScene')).currentProgramSceneName ?? null,
      feedMonitor: this.feed,
      stopStream: async () => void (await this.obs.call('StopStream')),
      onEvent: (e) => this.onEngineEvent(e),
      onNotice: (level, message) => this.ipc?.send(makeMessage('user_notice', { level, message })),
    });

    this.cloud = createCloudLink({
      config,
      baseUrl: opts.cloudBaseUrl ?? null,
      vault,
      sink: this.controller,
      obs: this.obs,
      restoredSessionId: saved.relay_session_id,
      logger: child('cloudlink'),
    });

    this.control = new EngineControl({
      controller: this.controller,
      obs: this.obs,
      store: this.store,
      vault,
      cloud: () => this.cloud,
      ensureCloud: () => this.ensureCloud(),
      logger,
      onChange: () => this.changed(),
      feedInput: () => this.feed.feedInput(),
    });

    this.parts = {
      version: ENGINE_VERSION,
      startedAt: this.startedAt,
      obs: this.obs,
      hub: this.hub,
      controller: this.controller,
      store: this.store,
      vault,
      feed: () => this.feed.view(),
      history: this.history,
      via: this.ipc ? 'ipc' : 'obs',
      ipcReady: () => this.ipc?.ready() ?? false,
      cloud: this.cloud,
      chatStates: () => this.chat?.states() ?? null,
      otlp: () => this.otlp?.status() ?? otlpDisabledStatus(this.store.config.otlp),
      events: () => this.events(),
      failovers: () => this.tally,
      programSince: () => this.programSince,
    };
    this.wire();
  }

  private wire(): void {
    this.obs.on('sceneChanged', (scene) => {
      this.programSince = this.now();
      this.controller.programScene(scene);
      this.changed();
    });
    this.obs.on('connected', (s) => {
      this.controller.note('info', 'obs_connected', `OBS connected (${this.obs.url})`);
      this.programSince = this.now();
      this.controller.sceneList(s.scenes);
      this.controller.programScene(s.currentScene);
      this.controller.streamStatus(s.streaming);
      this.controller.scenePathChanged();
      void this.cloud?.reconfigureObsSource();
      this.changed();
    });
    this.obs.on('disconnected', (reason) => {
      if (this.stopping) return;
      this.controller.note('warn', 'obs_disconnected', `OBS disconnected: ${reason}`);
      this.programSince = null;
      this.controller.programScene(null);
      this.controller.sceneList(null);
      this.controller.scenePathChanged();
      this.changed();
    });
    this.obs.on('scenesChanged', (scenes) => {
      this.controller.sceneList(scenes);
      this.changed();
    });
    this.obs.on('streamStateChanged', (active) => {
      this.controller.note(
        'info',
        active ? 'stream_started' : 'stream_stopped',
        active ? 'stream started' : 'stream stopped',
      );
      this.controller.streamStatus(active);
      this.changed();
    });
    this.obs.on('recordStateChanged', () => this.changed());
    this.hub.on('sample', () => {
      const f = this.feed.view();
      this.history.record({ bitrate_kbps: f.bitrate_kbps, rtt_ms: f.rtt_ms });
      this.changed();
    });
    this.ipc?.on('ready', () => {
      if (this.stopping) return;
      this.controller.scenePathChanged();
      this.changed();
    });
    this.ipc?.on('alert', (a) => {
      if (a.kind === 'protocol_error_storm') this.controller.protocolErrorStorm(a.message);
    });
    this.store.on('change', (cfg) => this.feed.setThresholds(cfg.failover));
  }

  async start(): Promise<EngineUrls> {
    const { config, vault } = this.opts;
    this.token = vault.getOrCreate(LOCAL_ACCESS_TOKEN_KEY).value;
    const host = config.server.lan_access ? '0.0.0.0' : config.server.host;
    const server = await createEngineServer({
      host,
      port: config.server.port,
      lanAccess: config.server.lan_access,
      token: this.token,
      logger: this.opts.logger,
      registry: this.metrics.registry,
      dockDir: this.opts.dockDir ?? null,
    });
    registerApiRoutes(server, {
      control: this.control,
      state: () => this.state(),
      diagnostics: () => this.controller.diagnostics(),
      flags: () => ({ ...this.controller.state().flags, chat_bot: effectiveChatBot(this.store.config) }),
    });
    registerRelayRoutes(server, {
      control: this.control,
      cloud: () => this.cloud,
      mode: () => this.controller.mode(),
    });
    this.dock = registerDockSocket(server, {
      authorize: () => true,
      getState: () => dockStateOf(this.snapshot()),
      onAction: (action, progress) =>
        handleDockAction(action, progress, {
          control: this.control,
          cloud: () => this.cloud,
          ackEvent: (id) => this.ack(id),
        }),
      logger: this.opts.logger.child({ component: 'dock' }),
    });
    this.server = server;
    await server.listen({ host, port: config.server.port });
    await this.ipc?.start();
    this.obs.start();
    this.hub.start();
    this.feed.start();
    this.controller.start();
    if (!this.opts.startCloud) await this.ensureCloud();
    else if (this.stateFile.load().state.relay_session_id) void this.ensureCloud();
    if (config.chat.twitch || config.chat.kick || config.chat.youtube) {
      const { ChatBridge, autoSwitchAnnouncement } = await import('./chat/bridge.js');
      this.autoSwitchText = autoSwitchAnnouncement;
      this.chat = new ChatBridge({
        config: config.chat,
        actions: engineChatActions({
          control: this.control,
          store: this.store,
          scenes: () => this.obs.state().scenes,
          status: () => statusSummaryOf(this.snapshot()),
          relayLinks: () => this.cloud?.snapshot().links ?? [],
        }),
        getSecret: async (key) => vault.get(key),
        setSecret: async (key, value) => vault.set(key, value),
        onAuthRevoked: (_platform, text) => this.pushChatEvent('warn', text, null),
        audit: new AuditLog({ dir: `${telemyPaths().data}/audit` }),
        metrics: this.metrics,
        onEvent: (r) =>
          this.pushChatEvent(
            r.outcome === 'accepted' ? 'info' : 'warn',
            `chat ${r.platform} ${r.user_name} (${r.role}) !${r.command}: ${r.outcome}${r.detail ? ` — ${r.detail}` : ''}`,
            r.request_id,
          ),
        onState: () => this.changed(),
        log: this.opts.logger.child({ component: 'chat' }),
      });
      this.chat.start();
    }
    if (config.otlp.enabled) {
      const { OtlpMetricsPush } = await import('./metrics/otlp.js');
      this.otlp = new OtlpMetricsPush({
        config: config.otlp,
        metrics: this.metrics,
        authValue: vault.get(config.otlp.auth_value_key),
        serviceVersion: ENGINE_VERSION,
        dataDir: telemyPaths().data,
        logger: this.opts.logger.child({ component: 'otlp' }),
      });
    }
    return this.urls();
  }

  /** The control plane is up and CloudLink has looked for a running session (reconnect-first). Idempotent. */
  ensureCloud(): Promise<void> {
    if (this.cloudUp) return this.cloudUp;
    this.cloudStarting = true;
    this.cloudUp = (this.opts.startCloud?.() ?? Promise.resolve())
      .then(() => this.cloud?.init())
      .catch((err: unknown) => {
        this.cloudUp = null;
        this.opts.logger.warn({ err }, 'cloud link could not start; local operation continues');
      })
      .finally(() => {
        this.cloudStarting = false;
      });
    return this.cloudUp;
  }

  urls(): EngineUrls {
    const { host, port } = this.opts.config.server;
    const base = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    return {
      dashboard: `${base}/`,
      dashboardWithToken: `${base}/?token=${this.token}`,
      metrics: `${base}/metrics`,
    };
  }

  /** `GET /api/state`: everything the engine knows, as plain JSON (no secrets). */
  state(): Record<string, unknown> {
    return apiStateOf(this.snapshot());
  }

  /** One snapshot of the engine for every view; taken again after a change, or when 250 ms old. */
  snapshot(): EngineSnapshot {
    const now = this.now();
    if (this.cached === null || now - this.cached.at >= SNAPSHOT_MAX_AGE_MS) {
      this.cached = takeSnapshot(this.parts, now);
    }
    return this.cached;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.persist();
    this.dock?.lifecycle('stopping', 'engine stopping');
    this.controller.stop();
    this.feed.stop();
    this.hub.stop();
    await this.chat?.stop();
    this.cloud?.close();
    await this.otlp?.stop();
    this.otlp = null;
    await this.ipc?.stop();
    await this.obs.stop();
    await this.server?.close();
    this.server = null;
  }

  private changed(): void {
    this.cached = null;
    this.dock?.notify();
    this.ipc?.notifyStatusChanged();
  }

  private persist(): void {
    try {
      this.stateFile.save({
        mode: this.controller.mode(),
        relay_session_id: this.cloud?.currentSessionId() ?? null,
        counters: {
          failovers: this.savedCounters.failovers + this.tally.count,
          switches: this.savedCounters.switches + this.controller.diagnostics().since_start.switches.ok,
        },
      });
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not save engine state');
    }
  }

  private onEngineEvent(e: FailoverEvent): void {
    if (
      e.kind === 'switch_result' &&
      e.data.result === 'ok' &&
      (e.data.reason === 'auto_failover' || e.data.reason === 'auto_recover')
    ) {
      if (e.data.reason === 'auto_failover') this.tally.count += 1;
      this.tally.last = {
        at_ms: e.at_ms,
        scene: String(e.data.scene),
        reason: String(e.data.why ?? e.data.reason),
        rule: String(e.data.rule),
        request_id: e.request_id ?? '',
      };
      this.tally.lastDetectionToSwitchMs =
        typeof e.data.detection_to_switch_ms === 'number' ? e.data.detection_to_switch_ms : null;
      if (this.chat && this.autoSwitchText)
        void this.chat.announce(
          this.autoSwitchText(
            String(e.data.scene),
            String(e.data.why ?? e.data.reason),
            this.feed.view().bitrate_kbps,
          ),
        );
    }
    if (e.kind === 'mode_transition' || e.kind === 'switch_result') this.persist();
    this.changed();
  }

  private pushChatEvent(level: 'info' | 'warn', text: string, requestId: string | null): void {
    this.chatEvents.push({
      id: -(this.chatEvents.length + 1),
      at_ms: this.now(),
      level,
      text,
      request_id: requestId,
    });
    if (this.chatEvents.length > 200) this.chatEvents.shift();
    this.changed();
  }

  /** The dock's event log: engine decisions and chat audit records, newest last, at most 200. */
  private events(): EventInput[] {
    const engine: EventInput[] = this.controller.events().map((e) => ({
      id: e.id,
      at_ms: e.at_ms,
      level: e.level,
      text: e.text,
      request_id: e.request_id,
      acked: this.acked.has(e.id),
      kind: e.kind,
      data: e.data,
    }));
    return [...engine, ...this.chatEvents].sort((a, b) => a.at_ms - b.at_ms).slice(-200);
  }

  private ack(id: number): boolean {
    if (!this.controller.events().some((e) => e.id === id)) return false;
    this.acked.add(id);
    this.changed();
    return true;
  }
}
