import { errorText, type Guard, type Logger, SETTING_KEYS, type SettingsForm } from '@telemy/protocol';
import type { CloudLink } from '../cloudlink/cloudlink.js';
import { fixMediaSources } from '../cloudlink/obs-media-source.js';
import { ConfigError, type ConfigStore, type OutputConfig, type ScalarChange } from '../config/index.js';
import { mergeSourceEdits } from '../config/writer.js';
import type { CommandResult, FailoverController } from '../failover/controller.js';
import type { ActiveIntent, CommandOrigin } from '../failover/machine.js';
import type { AutomationFlags } from '../failover/params.js';
import { type ObsLink, ObsRequestError } from '../obs/obs-link.js';
import type { Vault } from '../vault/index.js';

/**
 * The one command surface of the engine. The local API, the dock, chat, IPC and the CLI all call
 * these methods, so a rule (persist first, then apply; guards in the state machine) holds for all.
 * Every method resolves with an outcome; none throws for a refusal.
 */

export interface ControlOutcome {
  ok: boolean;
  /** One human sentence: shown in the dock, replied in chat, returned by the API. */
  message: string;
  /** A safety guard of the state machine refused the action (as data, never parsed from `message`). */
  guard?: Guard;
  /** A switch that was sent and failed: the shared switch error code (`obs_rejected`, …). */
  error_code?: string;
  request_id?: string | null;
  scene?: string | null;
  latency_ms?: number | null;
  /** Per-key reasons when a config change was refused (dotted keys). */
  field_errors?: Record<string, string>;
}

/** The five automation flags, as IPC `set_setting_request` names them. */
export const AUTOMATION_KEYS = SETTING_KEYS;
export type AutomationKey = (typeof AUTOMATION_KEYS)[number];

export const THRESHOLD_KEYS = [
  'low_bitrate_kbps',
  'offline_bitrate_kbps',
  'low_rtt_ms',
  'offline_rtt_ms',
] as const;
export type ThresholdKey = (typeof THRESHOLD_KEYS)[number];

export interface EngineControlDeps {
  controller: FailoverController;
  obs: ObsLink;
  store: ConfigStore;
  vault: Vault;
  cloud: () => CloudLink | null;
  /** Brings the (embedded) control plane up before the first IRL start. */
  ensureCloud?: () => Promise<void>;
  logger: Logger;
  /** Called after a change to flags/thresholds/roles so pushes (dock, IPC) go out at once. */
  onChange?: () => void;
  /** How long `!start` / `!stop` wait for OBS to report the output (default 15 s). */
  streamStateTimeoutMs?: number;
  /** The OBS media source that plays the feed now (`!refresh`), or null when none is known. */
  feedInput?: () => string | null;
}

/** OBS statuses that mean the stream output already is where it was asked to go. */
const OUTPUT_RUNNING = 500;
const OUTPUT_NOT_RUNNING = 501;

/** How long `!start` / `!stop` wait for OBS to report the stream output active / stopped. */
const STREAM_STATE_TIMEOUT_MS = 15_000;
/** When a start or stop OBS accepted has shown no effect yet, it is sent once more. */
const STREAM_RETRY_AFTER_MS = 3_000;

export class EngineControl {
  constructor(private readonly d: EngineControlDeps) {}

  async intent(intent: ActiveIntent, origin: CommandOrigin, requestId?: string): Promise<ControlOutcome> {
    return this.fromCommand(await this.d.controller.command({ intent }, origin, requestId), intent);
  }

  async switchScene(scene: string, origin: CommandOrigin, requestId?: string): Promise<ControlOutcome> {
    return this.fromCommand(await this.d.controller.command({ scene }, origin, requestId), scene);
  }

  /** Persists `[automation] key = value`, then applies it. */
  setFlag(key: AutomationKey, value: boolean): ControlOutcome {
    const refused = this.persist({ [`automation.${key}`]: value });
    if (refused) return refused;
    this.d.controller.setFlags({ [key]: value } as Partial<AutomationFlags>);
    this.d.onChange?.();
    return { ok: true, message: `${key} ${value ? 'on' : 'off'}` };
  }

  setThresholds(values: Partial<Record<ThresholdKey, number>>): ControlOutcome {
    const changes = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [`failover.${k}`, v as number]),
    );
    const refused = this.persist(changes);
    if (refused) return refused;
    this.d.controller.setConfig({ params: this.d.store.config.failover });
    this.d.onChange?.();
    return {
      ok: true,
      message: Object.entries(values)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', '),
    };
  }

  setSceneRoles(roles: Partial<Record<'live' | 'low' | 'brb' | 'offline', string>>): ControlOutcome {
    const changes = Object.fromEntries(Object.entries(roles).map(([k, v]) => [`scenes.${k}`, v as string]));
    const refused = this.persist(changes);
    if (refused) return refused;
    this.d.controller.setConfig({ scenes: this.d.store.config.scenes });
    this.d.onChange?.();
    return { ok: true, message: 'scene roles saved' };
  }

  /** Renames, regroups or hides one output in `[[outputs]]` (the whole table is rewritten). */
  setOutputConfig(output: OutputConfig): ControlOutcome {
    const outputs = this.d.store.config.outputs.filter((o) => o.obs_id !== output.obs_id);
    outputs.push(output);
    try {
      this.d.store.replaceTables({ outputs });
    } catch (err) {
      return configRefusal(err);
    }
    this.d.onChange?.();
    return { ok: true, message: `output ${output.obs_id} saved` };
  }

  /** `[obs] host/port` to the config, the password (when given) to the vault; the link reconnects. */
  setObsConnection(c: { host: string; port: number; password?: string | undefined }): ControlOutcome {
    const refused = this.persist({ 'obs.host': c.host, 'obs.port': c.port });
    if (refused) return refused;
    if (c.password) {
      this.d.vault.set(this.d.store.config.obs.password_key, c.password);
      this.d.obs.setPassword(c.password);
    }
    return { ok: true, message: 'OBS connection saved (host/port changes apply at the next start)' };
  }

  /**
   * The settings page, all sections at once: the new config is validated in full before anything is
   * written; secrets typed on the page go to the vault, never to the file.
   */
  saveSettings(form: SettingsForm): ControlOutcome {
    const cfg = this.d.store.config;
    const secrets: [string, string][] = [];
    if (form.obs.password) secrets.push([cfg.obs.password_key, form.obs.password]);
    if (form.cloud.api_key) secrets.push([cfg.cloud.api_key_key, form.cloud.api_key]);
    if (form.otlp.auth_value) secrets.push([cfg.otlp.auth_value_key, form.otlp.auth_value]);
    try {
      this.d.store.rewrite((raw) => {
        const table = (k: string): Record<string, unknown> => {
          if (typeof raw[k] !== 'object' || raw[k] === null) raw[k] = {};
          return raw[k] as Record<string, unknown>;
        };
        Object.assign(table('obs'), { host: form.obs.host, port: form.obs.port });
        Object.assign(table('scenes'), form.scenes);
        Object.assign(table('failover'), form.thresholds, form.timings);
        raw.sources = mergeSourceEdits(raw.sources, form.sources);
        raw.outputs = form.outputs;
        const cloud = table('cloud');
        Object.assign(cloud, { mode: form.cloud.mode, region_preference: form.cloud.region_preference });
        if (form.cloud.base_url) cloud.base_url = form.cloud.base_url;
        else delete cloud.base_url;
        const otlp = table('otlp');
        Object.assign(otlp, { enabled: form.otlp.enabled, interval_ms: form.otlp.interval_ms });
        if (form.otlp.endpoint) otlp.endpoint = form.otlp.endpoint;
        else delete otlp.endpoint;
        const chat = table('chat');
        for (const [platform, p] of Object.entries(form.chat)) {
          if (!p.channel) {
            delete chat[platform];
            continue;
          }
          if (typeof chat[platform] !== 'object' || chat[platform] === null) chat[platform] = {};
          const section = chat[platform] as Record<string, unknown>;
          section.channel = p.channel;
          if (p.token) {
            section.token_key ??= `${platform}_token`;
            secrets.push([String(section.token_key), p.token]);
          }
        }
      });
    } catch (err) {
      const refusal = configRefusal(err);
      return { ...refusal, field_errors: settingsFieldPaths(refusal.field_errors ?? {}) };
    }
    for (const [key, value] of secrets) this.d.vault.set(key, value);
    const next = this.d.store.config;
    this.d.controller.setConfig({ params: next.failover, scenes: next.scenes });
    if (form.obs.password) this.d.obs.setPassword(form.obs.password);
    this.d.onChange?.();
    return {
      ok: true,
      message: 'settings saved (OBS address, sources and chat changes apply at the next start)',
    };
  }

  /** Answers only once OBS reports the stream output active: "started" is then true. */
  async startStream(): Promise<ControlOutcome> {
    if (this.d.obs.state().streaming) return { ok: true, message: 'already live' };
    return this.streamChange('StartStream', true);
  }

  /** Answers only once OBS reports the stream output stopped. */
  async stopStream(): Promise<ControlOutcome> {
    if (this.d.obs.connected && !this.d.obs.state().streaming) return { ok: true, message: 'not live' };
    return this.streamChange('StopStream', false);
  }

  async toggleRecord(): Promise<ControlOutcome> {
    const r = await this.obsCall('ToggleRecord', 'recording toggled');
    if (!r.ok) return r;
    return { ok: true, message: this.d.obs.state().recording ? 'recording stopped' : 'recording started' };
  }

  async relayStart(requestedBy: 'dashboard' | 'chatbridge' | 'cli'): Promise<ControlOutcome> {
    const cloud = this.d.cloud();
    if (!cloud) return { ok: false, message: 'the cloud relay is off ([cloud] mode = "off")' };
    try {
      await this.d.ensureCloud?.();
      const s = await cloud.startIrl(requestedBy);
      return { ok: true, message: `relay ${s.status} (${s.region ?? 'auto'})` };
    } catch (err) {
      return { ok: false, message: errorText(err) };
    }
  }

  async relayStop(): Promise<ControlOutcome> {
    const cloud = this.d.cloud();
    if (!cloud) return { ok: false, message: 'the cloud relay is off ([cloud] mode = "off")' };
    try {
      await cloud.stopIrl('user_requested');
      return { ok: true, message: 'relay stopped' };
    } catch (err) {
      return { ok: false, message: errorText(err) };
    }
  }

  /** Restarts the relay media source and every `obs_media_source` ingest input that exists in OBS. */
  async fixMediaSources(): Promise<ControlOutcome> {
    const cfg = this.d.store.config;
    const names = [
      cfg.relay.obs_source_name,
      ...cfg.sources.filter((s) => s.type === 'obs_media_source').map((s) => s.input ?? ''),
    ];
    const restarted: string[] = [];
    for (const name of new Set(names.filter((n) => n !== ''))) {
      try {
        await fixMediaSources(this.d.obs, name);
        restarted.push(name);
      } catch {
        // An input that does not exist in this scene collection is simply not restarted.
      }
    }
    return restarted.length > 0
      ? { ok: true, message: `restarted ${restarted.join(', ')}` }
      : {
          ok: false,
          message: `no media source to restart (looked for ${[...new Set(names)].filter(Boolean).join(', ')})`,
        };
  }

  /** Restarts the one media source that plays the feed now, so it reconnects at once. */
  async refreshFeedSource(): Promise<ControlOutcome> {
    const input = this.d.feedInput?.() ?? null;
    if (!input) {
      return {
        ok: false,
        message: 'no OBS media source is known for the feed (set input = "…" on its [[sources]] entry)',
      };
    }
    try {
      await fixMediaSources(this.d.obs, input);
      return { ok: true, message: `restarted ${input}` };
    } catch (err) {
      return { ok: false, message: `could not restart ${input}: ${obsProblem(err)}` };
    }
  }

  private async streamChange(
    request: 'StartStream' | 'StopStream',
    active: boolean,
  ): Promise<ControlOutcome> {
    const obs = this.d.obs;
    const waitMs = this.d.streamStateTimeoutMs ?? STREAM_STATE_TIMEOUT_MS;
    const what = active ? 'started' : 'stopped';
    let onChange: (streaming: boolean) => void = () => {};
    const reported = new Promise<true>((resolve) => {
      onChange = (streaming) => {
        if (streaming === active) resolve(true);
      };
      obs.on('streamStateChanged', onChange);
    });
    const timers: NodeJS.Timeout[] = [];
    const within = (ms: number) =>
      Promise.race([reported, new Promise<false>((r) => timers.push(setTimeout(() => r(false), ms)))]);
    const done = () => obs.state().streaming === active;
    try {
      await obs.call(request);
      const retryAfter = Math.min(STREAM_RETRY_AFTER_MS, waitMs / 3);
      let ok = done() || (await within(retryAfter));
      if (!ok) {
        // OBS accepts a start sent while its previous output is still being torn down (a stop a
        // moment ago) and then does nothing: ask once more.
        await obs.call(request).catch(() => undefined);
        ok = done() || (await within(waitMs - retryAfter));
      }
      return ok
        ? { ok: true, message: `stream ${what}` }
        : { ok: false, message: `OBS accepted but has not ${what} the stream after ${waitMs / 1000} s` };
    } catch (err) {
      // OBS's state arrives by event; a request can overtake it and find the output already there.
      if (err instanceof ObsRequestError && err.code === (active ? OUTPUT_RUNNING : OUTPUT_NOT_RUNNING))
        return { ok: true, message: active ? 'already live' : 'not live' };
      return { ok: false, message: obsProblem(err) };
    } finally {
      for (const t of timers) clearTimeout(t);
      obs.off('streamStateChanged', onChange);
    }
  }

  private async obsCall(request: 'ToggleRecord', done: string): Promise<ControlOutcome> {
    try {
      await this.d.obs.call(request);
      return { ok: true, message: done };
    } catch (err) {
      return { ok: false, message: obsProblem(err) };
    }
  }

  private persist(changes: Record<string, ScalarChange>): ControlOutcome | null {
    try {
      this.d.store.update(changes);
      return null;
    } catch (err) {
      return configRefusal(err);
    }
  }

  private fromCommand(r: CommandResult, what: string): ControlOutcome {
    const base = { request_id: r.request_id, scene: r.scene, latency_ms: r.latency_ms };
    const scene = r.scene ?? what;
    if (r.ok) {
      return {
        ...base,
        ok: true,
        message: r.already_on_air ? `${scene} is already on air` : `switched to ${scene}`,
      };
    }
    if (r.refusal) {
      return {
        ...base,
        ok: false,
        message: `could not switch to ${scene}: ${r.refusal.text}`,
        guard: r.refusal.guard,
      };
    }
    return {
      ...base,
      ok: false,
      message: `could not switch to ${scene}: ${r.error?.message ?? 'unknown error'}`,
      ...(r.error ? { error_code: r.error.code } : {}),
    };
  }
}

/** Config key paths (`failover.low_bitrate_kbps`) to the settings form's (`settings.thresholds.low_bitrate_kbps`). */
function settingsFieldPaths(errors: Record<string, string>): Record<string, string> {
  const thresholds = new Set<string>(THRESHOLD_KEYS);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(errors)) {
    const [section, ...rest] = k.split('.');
    const leaf = rest.join('.');
    const mapped =
      section === 'failover'
        ? `${thresholds.has(leaf) ? 'thresholds' : 'timings'}.${leaf}`
        : k.replace(/\[(\d+)\]/g, '.$1');
    out[`settings.${mapped}`] = v;
  }
  return out;
}

/** A failed OBS request for people: the refusal in words, or why OBS could not be asked. */
export function obsProblem(err: unknown): string {
  return err instanceof ObsRequestError ? `OBS refused: ${err.reason}` : errorText(err);
}

function configRefusal(err: unknown): ControlOutcome {
  if (err instanceof ConfigError) {
    const field_errors: Record<string, string> = {};
    for (const line of err.lines) {
      const m = /^[^:]+: ([^:]+): (.*?); allowed: (.*?); found/.exec(line);
      if (m?.[1]) field_errors[m[1]] = `${m[2]} (allowed: ${m[3]})`;
    }
    return { ok: false, message: err.lines.map((l) => l.replace(/^[^:]+: /, '')).join('; '), field_errors };
  }
  return { ok: false, message: errorText(err) };
}
