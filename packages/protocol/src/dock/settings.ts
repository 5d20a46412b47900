import { z } from 'zod';
import { SOURCE_TYPES, sourceRequiredField } from '../source-types.js';
import { DOCK_CHAT_PLATFORMS } from './dock-state.js';

/**
 * The settings page's form. The dock validates with this schema
 * before sending and the engine validates the same object again before writing anything, so both
 * sides refuse exactly the same input with the same words. Bounds match the config file's.
 */

export const FAILOVER_BOUNDS = {
  sample_interval_ms: { min: 100, max: 10_000 },
  low_bitrate_kbps: { min: 0, max: 1_000_000 },
  offline_bitrate_kbps: { min: 0, max: 1_000_000 },
  low_rtt_ms: { min: 0, max: 60_000 },
  offline_rtt_ms: { min: 0, max: 60_000 },
  offline_after_ms: { min: 0, max: 60_000 },
  low_after_ms: { min: 0, max: 120_000 },
  recover_after_ms: { min: 0, max: 120_000 },
  offline_timeout_s: { min: 0, max: 86_400 },
  offline_hold_s: { min: 0, max: 600 },
  switch_deadline_ms: { min: 100, max: 10_000 },
} as const;

export type FailoverBoundKey = keyof typeof FAILOVER_BOUNDS;

export const OTLP_INTERVAL_BOUNDS = { min: 1000, max: 3_600_000 } as const;
export const SOURCE_PRIORITY_BOUNDS = { min: 0, max: 1000 } as const;

const bounded = (key: FailoverBoundKey) => {
  const b = FAILOVER_BOUNDS[key];
  return z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(b.min, `must be at least ${b.min}`)
    .max(b.max, `must be at most ${b.max}`);
};

const name = z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const optionalUrl = z.union([z.literal(''), z.url('must be a URL (http://… or https://…)')]);
/** Write-only secret: empty or absent keeps the stored value; the engine puts it in the vault. */
/** Form fields send '' for "not set"; the parsed form says `undefined`, as the config file does. */
const unset = (v: string | undefined) => v || undefined;
const secret = z.string().max(4096, 'is too long').optional().transform(unset);

export const thresholdsFormSchema = z
  .object({
    low_bitrate_kbps: bounded('low_bitrate_kbps'),
    offline_bitrate_kbps: bounded('offline_bitrate_kbps'),
    low_rtt_ms: bounded('low_rtt_ms'),
    offline_rtt_ms: bounded('offline_rtt_ms'),
  })
  .superRefine((t, ctx) => {
    if (t.low_bitrate_kbps > 0 && t.offline_bitrate_kbps >= t.low_bitrate_kbps) {
      ctx.addIssue({
        code: 'custom',
        path: ['offline_bitrate_kbps'],
        message: `must be below the low bitrate (${t.low_bitrate_kbps})`,
      });
    }
    if (t.offline_rtt_ms > 0 && t.low_rtt_ms > 0 && t.offline_rtt_ms <= t.low_rtt_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['offline_rtt_ms'],
        message: `must be above the low RTT (${t.low_rtt_ms}) or 0 (off)`,
      });
    }
  });

export const timingsFormSchema = z.object({
  sample_interval_ms: bounded('sample_interval_ms'),
  offline_after_ms: bounded('offline_after_ms'),
  low_after_ms: bounded('low_after_ms'),
  recover_after_ms: bounded('recover_after_ms'),
  offline_timeout_s: bounded('offline_timeout_s'),
  offline_hold_s: bounded('offline_hold_s'),
  switch_deadline_ms: bounded('switch_deadline_ms'),
});

export const obsConnectionFormSchema = z.object({
  host: name,
  port: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(65535, 'must be at most 65535'),
  password: secret,
});

export const sceneRolesFormSchema = z
  .object({
    live: name,
    low: z.string().trim().max(256),
    brb: name,
    offline: name,
    managed_extra: z.array(name).max(64, 'at most 64 scenes').default([]),
  })
  .superRefine((r, ctx) => {
    const seen = new Map<string, string>();
    for (const role of ['live', 'low', 'brb', 'offline'] as const) {
      const scene = r[role];
      if (!scene) continue;
      const other = seen.get(scene);
      if (other) ctx.addIssue({ code: 'custom', path: [role], message: `is the same scene as ${other}` });
      else seen.set(scene, role);
    }
  });

export const sourceFormSchema = z
  .object({
    name,
    type: z.enum(SOURCE_TYPES, 'must be one of the supported source types'),
    priority: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(SOURCE_PRIORITY_BOUNDS.min, `must be at least ${SOURCE_PRIORITY_BOUNDS.min}`)
      .max(SOURCE_PRIORITY_BOUNDS.max, `must be at most ${SOURCE_PRIORITY_BOUNDS.max}`),
    enabled: z.boolean(),
    url: optionalUrl.optional(),
    stats_file: z.string().max(4096).optional(),
    input: z.string().max(256).optional(),
    /**
     * The name the source had when the page loaded (absent for a source added on the page): the
     * engine keeps that entry's fields the form does not show (publisher, stream, username, …).
     */
    was: z.string().max(256).optional(),
  })
  .superRefine((s, ctx) => {
    const field = sourceRequiredField(s.type);
    if (field && !s[field]) {
      ctx.addIssue({ code: 'custom', path: [field], message: `is required for type ${s.type}` });
    }
  })
  .transform((s) => ({ ...s, url: unset(s.url), stats_file: unset(s.stats_file), input: unset(s.input) }));

export const cloudFormSchema = z
  .object({
    mode: z.enum(['embedded', 'remote', 'off']),
    base_url: optionalUrl.optional(),
    region_preference: z.string().trim().min(1, 'must not be empty').max(64),
    api_key: secret,
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'remote' && !c.base_url) {
      ctx.addIssue({
        code: 'custom',
        path: ['base_url'],
        message: 'is required when the cloud mode is remote',
      });
    }
  })
  .transform((c) => ({ ...c, base_url: unset(c.base_url) }));

export const otlpFormSchema = z
  .object({
    enabled: z.boolean(),
    endpoint: optionalUrl.optional(),
    interval_ms: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(OTLP_INTERVAL_BOUNDS.min, `must be at least ${OTLP_INTERVAL_BOUNDS.min}`)
      .max(OTLP_INTERVAL_BOUNDS.max, `must be at most ${OTLP_INTERVAL_BOUNDS.max}`),
    auth_value: secret,
  })
  .superRefine((o, ctx) => {
    if (o.enabled && !o.endpoint) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'is required when OTLP export is on' });
    }
  })
  .transform((o) => ({ ...o, endpoint: unset(o.endpoint) }));

export const outputFormSchema = z.object({
  obs_id: name,
  display_name: name,
  encoder_group: z.string().trim().max(64, 'must be at most 64 characters'),
  hidden: z.boolean(),
});

export const chatPlatformFormSchema = z.object({
  /** Empty: platform off. */
  channel: z.string().trim().max(256),
  token: secret,
});

export const chatFormSchema = z.object(
  Object.fromEntries(DOCK_CHAT_PLATFORMS.map((p) => [p, chatPlatformFormSchema])) as Record<
    (typeof DOCK_CHAT_PLATFORMS)[number],
    typeof chatPlatformFormSchema
  >,
);

export const settingsFormSchema = z.object({
  obs: obsConnectionFormSchema,
  scenes: sceneRolesFormSchema,
  thresholds: thresholdsFormSchema,
  timings: timingsFormSchema,
  sources: z.array(sourceFormSchema).max(32, 'at most 32 sources'),
  chat: chatFormSchema,
  cloud: cloudFormSchema,
  otlp: otlpFormSchema,
  outputs: z.array(outputFormSchema).max(64, 'at most 64 outputs'),
});

/** What the engine receives and applies: empty strings already turned into `undefined`. */
export type SettingsForm = z.output<typeof settingsFormSchema>;
/** What the settings page edits: '' for fields not set, secrets '' unless typed. */
export type SettingsFormInput = z.input<typeof settingsFormSchema>;
export type ThresholdsForm = z.infer<typeof thresholdsFormSchema>;
export type TimingsForm = z.infer<typeof timingsFormSchema>;
export type ObsConnectionForm = z.infer<typeof obsConnectionFormSchema>;
export type SceneRolesForm = z.infer<typeof sceneRolesFormSchema>;
export type SourceForm = z.infer<typeof sourceFormSchema>;
export type OutputForm = z.infer<typeof outputFormSchema>;

/** Field path (dotted, e.g. `thresholds.low_rtt_ms`, `sources.0.url`) → the first message for it. */
export type SettingsFieldErrors = Record<string, string>;

export function settingsFieldErrors(error: z.ZodError): SettingsFieldErrors {
  const out: SettingsFieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || '_';
    if (!(key in out)) out[key] = issue.message;
  }
  return out;
}
