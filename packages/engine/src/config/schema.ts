import {
  FAILOVER_BOUNDS,
  FALLBACK_ROLES,
  OTLP_INTERVAL_BOUNDS,
  SOURCE_PRIORITY_BOUNDS,
  SOURCE_TYPES,
  sourceRequiredField,
} from '@telemy/protocol';
import { z } from 'zod';
import { CHAT_BOUNDS, COMMAND_NAMES, prefixProblem, ROLES } from '../chat/config.js';

/**
 * Config file v3. Every value has bounds; unknown keys are errors so
 * a typo never silently falls back to a default. Defaults live here and nowhere else.
 */

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const port = int(1, 65535);
/** Failover bounds are shared with the dock's settings form (`@telemy/protocol`), so both refuse the same values. */
const bounded = (key: keyof typeof FAILOVER_BOUNDS) =>
  int(FAILOVER_BOUNDS[key].min, FAILOVER_BOUNDS[key].max);
const name = z.string().min(1).max(256);
const secretKeyName = z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'must be a vault key name (a-z, 0-9, _ . -)');

const obs = z
  .object({
    host: name.default('127.0.0.1'),
    port: port.default(4455),
    password_key: secretKeyName.default('obs_password'),
  })
  .strict();

export function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * What is wrong with `[server]` host, or null. The schema and the engine's server both ask this, so
 * `telemy config validate` refuses exactly what the engine would refuse at start.
 */
export function serverHostProblem(s: { host: string; lan_access: boolean }): string | null {
  return s.lan_access || isLoopbackHost(s.host)
    ? null
    : 'is not a loopback address; set server.lan_access = true to serve the network';
}

const server = z
  .object({
    host: name.default('127.0.0.1'),
    port: port.default(7070),
    lan_access: z.boolean().default(false),
  })
  .strict()
  .superRefine((s, ctx) => {
    const problem = serverHostProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', path: ['host'], message: problem, input: s.host });
  });

const scenes = z
  .object({
    live: name.default('LIVE'),
    low: z.string().max(256).default('LOW'),
    brb: name.default('BRB'),
    offline: name.default('OFFLINE'),
    managed_extra: z.array(name).max(64).default([]),
    /**
     * Roles tried, in order, when the BRB scene does not exist in OBS (renamed or deleted): a
     * failover then still takes the feed off air instead of leaving a dead picture up.
     */
    fallback: z
      .array(z.enum(FALLBACK_ROLES))
      .max(FALLBACK_ROLES.length)
      .refine((l) => new Set(l).size === l.length, 'must not list a role twice')
      .default(['OFFLINE', 'LOW']),
  })
  .strict();

/** Failover timing and thresholds (docs/ARCHITECTURE.md, the state machine). 0 disables a trigger where allowed. */
export const failoverSchema = z
  .object({
    sample_interval_ms: bounded('sample_interval_ms').default(500),
    low_bitrate_kbps: bounded('low_bitrate_kbps').default(800),
    offline_bitrate_kbps: bounded('offline_bitrate_kbps').default(200),
    low_rtt_ms: bounded('low_rtt_ms').default(2500),
    offline_rtt_ms: bounded('offline_rtt_ms').default(0),
    offline_after_ms: bounded('offline_after_ms').default(500),
    low_after_ms: bounded('low_after_ms').default(1500),
    recover_after_ms: bounded('recover_after_ms').default(1500),
    offline_timeout_s: bounded('offline_timeout_s').default(0),
    offline_hold_s: bounded('offline_hold_s').default(3),
    switch_deadline_ms: bounded('switch_deadline_ms').default(550),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.low_bitrate_kbps > 0 && f.offline_bitrate_kbps >= f.low_bitrate_kbps) {
      ctx.addIssue({
        code: 'custom',
        path: ['offline_bitrate_kbps'],
        message: `must be below low_bitrate_kbps (${f.low_bitrate_kbps})`,
        input: f.offline_bitrate_kbps,
      });
    }
    if (f.offline_rtt_ms > 0 && f.low_rtt_ms > 0 && f.offline_rtt_ms <= f.low_rtt_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['offline_rtt_ms'],
        message: `must be above low_rtt_ms (${f.low_rtt_ms}) or 0`,
        input: f.offline_rtt_ms,
      });
    }
  });

export const automationSchema = z
  .object({
    auto_scene_switch: z.boolean().default(true),
    low_quality_fallback: z.boolean().default(true),
    manual_override: z.boolean().default(false),
    /** No automatic switch while OBS is not streaming: before going live the scene is the streamer's. */
    only_while_streaming: z.boolean().default(true),
    /** Unset means "on when a chat platform is configured" (resolved by `effectiveChatBot`). */
    chat_bot: z.boolean().optional(),
    alerts: z.boolean().default(true),
  })
  .strict();

const source = z
  .object({
    name: name,
    type: z.enum(SOURCE_TYPES),
    priority: int(SOURCE_PRIORITY_BOUNDS.min, SOURCE_PRIORITY_BOUNDS.max).default(100),
    enabled: z.boolean().default(true),
    url: z.url().optional(),
    publisher: z.string().max(256).optional(),
    stream: z.string().max(256).optional(),
    stats_file: z.string().min(1).max(4096).optional(),
    input: z.string().max(256).optional(),
    /** For a stats API that wants a sign-in (node-media-server); the password stays in the vault. */
    username: z.string().min(1).max(256).optional(),
    password_key: secretKeyName.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const field = sourceRequiredField(s.type);
    if (field && s[field] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `is required for type ${s.type}`,
        input: undefined,
      });
    }
  });

const cloud = z
  .object({
    mode: z.enum(['embedded', 'remote', 'off']).default('embedded'),
    base_url: z.url().optional(),
    api_key_key: secretKeyName.default('cloud_api_key'),
    region_preference: z.string().min(1).max(64).default('auto'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mode === 'remote' && !c.base_url) {
      ctx.addIssue({
        code: 'custom',
        path: ['base_url'],
        message: 'is required when mode = "remote"',
        input: undefined,
      });
    }
  });

/** The embedded relay's SRT listeners are IPv4, and the control plane stores its address as one. */
const ipv4 = z.ipv4({ error: 'must be an IPv4 address' });

const relay = z
  .object({
    obs_source_name: name.default('Telemy Relay'),
    auto_configure_obs_source: z.boolean().default(true),
    /** Where embedded relays listen; unset = every interface (`chooseRelayAddress`). */
    bind_host: ipv4.optional(),
    /** The address the phone is given; unset = chosen from bind_host and the machine's interfaces. */
    public_host: ipv4.optional(),
  })
  .strict();

const chatPlatform = z
  .object({
    channel: name,
    /** Read by nothing (replies come from the signed-in account): accepted so older files load, and warned about. */
    bot_user: z.string().max(128).optional(),
    token_key: secretKeyName.optional(),
    host: z.string().min(1).max(512).optional(),
    /** OAuth app for `telemy chat login` and token refresh; the secret stays in the vault. */
    client_id: z.string().min(1).max(256).optional(),
    client_secret_key: secretKeyName.optional(),
    auth_host: z.url().optional(),
  })
  .strict();

const chatCommand = z
  .object({
    role: z.enum(ROLES).optional(),
    users: z.array(z.string().min(1).max(64)).max(256).optional(),
    aliases: z
      .array(z.string().regex(CHAT_BOUNDS.aliasPattern, 'must be 1-25 of a-z 0-9 _'))
      .max(32)
      .optional(),
    cooldown_s: int(0, CHAT_BOUNDS.cooldownMaxS).optional(),
    user_cooldown_s: int(0, 86_400).optional(),
  })
  .strict();

/** Keys and bounds of ChatBridge's own `ChatConfig` (`chat/config.ts`), so the loader hands it over as is. */
const chat = z
  .object({
    prefix: z
      .string()
      .default('!')
      .superRefine((p, ctx) => {
        const problem = prefixProblem(p);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: p });
      }),
    admins: z.array(z.string().min(1).max(64)).max(256).default([]),
    announce_auto_switch: z.boolean().default(false),
    privacy_scene: name.optional(),
    starting_scene: name.optional(),
    ending_scene: name.optional(),
    twitch: chatPlatform.optional(),
    kick: chatPlatform
      .extend({
        api_host: z.url().optional(),
        web_host: z.url().optional(),
        chatroom_id: int(1, Number.MAX_SAFE_INTEGER).optional(),
        broadcaster_user_id: int(1, Number.MAX_SAFE_INTEGER).optional(),
      })
      .strict()
      .optional(),
    youtube: chatPlatform
      .extend({
        channel: name.optional(),
        live_chat_id: z.string().max(256).optional(),
        quota_per_day: int(CHAT_BOUNDS.youtubeQuotaMin, 10_000_000).optional(),
        expected_stream_hours: z
          .number()
          .min(CHAT_BOUNDS.youtubeStreamHours.min)
          .max(CHAT_BOUNDS.youtubeStreamHours.max)
          .optional(),
      })
      .strict()
      .optional(),
    commands: z.partialRecord(z.enum(COMMAND_NAMES), chatCommand).default({}),
  })
  .strict();

const otlp = z
  .object({
    enabled: z.boolean().default(false),
    endpoint: z.url().optional(),
    auth_value_key: secretKeyName.default('otlp_auth'),
    interval_ms: int(OTLP_INTERVAL_BOUNDS.min, OTLP_INTERVAL_BOUNDS.max).default(15_000),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.enabled && !o.endpoint) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'is required when enabled = true',
        input: undefined,
      });
    }
  });

const output = z
  .object({
    obs_id: name,
    display_name: name,
    encoder_group: z.string().max(64).default(''),
    hidden: z.boolean().default(false),
  })
  .strict();

const ipc = z.object({ dir: z.string().min(1).max(4096).optional() }).strict();
const log = z
  .object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    file: z.string().min(1).max(4096).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    config_version: z.literal(3),
    obs: obs.default(obs.parse({})),
    server: server.default(server.parse({})),
    scenes: scenes.default(scenes.parse({})),
    failover: failoverSchema.default(failoverSchema.parse({})),
    automation: automationSchema.default(automationSchema.parse({})),
    sources: z.array(source).max(32).default([]),
    cloud: cloud.default(cloud.parse({})),
    relay: relay.default(relay.parse({})),
    chat: chat.default(chat.parse({})),
    otlp: otlp.default(otlp.parse({})),
    outputs: z.array(output).max(64).default([]),
    ipc: ipc.default({}),
    log: log.default(log.parse({})),
  })
  .strict();

export type TelemyConfig = z.infer<typeof configSchema>;
export type FailoverConfig = TelemyConfig['failover'];
export type AutomationConfig = TelemyConfig['automation'];
export type SceneRolesConfig = TelemyConfig['scenes'];
export type SourceConfig = TelemyConfig['sources'][number];
export type ChatSectionConfig = TelemyConfig['chat'];
export type OutputConfig = TelemyConfig['outputs'][number];

export function defaultConfig(): TelemyConfig {
  return configSchema.parse({ config_version: 3 });
}

/**
 * Keys an older Telemy wrote that do nothing now: the file still loads, and each one present gets a
 * warning saying what to do instead of being silently ignored.
 */
export function deprecatedKeyWarnings(cfg: TelemyConfig, file: string): string[] {
  const warnings: string[] = [];
  for (const platform of ['twitch', 'kick', 'youtube'] as const) {
    if (cfg.chat[platform]?.bot_user === undefined) continue;
    warnings.push(
      `${file}: chat.${platform}.bot_user does nothing and can be deleted: the bot replies as the account signed in with \`telemy chat login ${platform}\` (or the pasted token's)`,
    );
  }
  return warnings;
}

/** `chat_bot` defaults to on exactly when some chat platform is configured. */
export function effectiveChatBot(cfg: TelemyConfig): boolean {
  return cfg.automation.chat_bot ?? Boolean(cfg.chat.twitch || cfg.chat.kick || cfg.chat.youtube);
}
