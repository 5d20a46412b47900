import { z } from 'zod';

/**
 * Everything the relay agent needs. Providers write it as `TELEMY_RELAY_*`
 * environment variables (secrets never go on a command line, where `ps` would show them); the CLI
 * lets flags override them. Every default is overridable so tests can run on free ports.
 */
const port = z.number().int().min(0).max(65_535);
const srtPassphrase = z
  .string()
  .min(10, 'SRT passphrases need 10-79 characters')
  .max(79, 'SRT passphrases need 10-79 characters');

export const RelayAgentConfigSchema = z
  .object({
    sessionId: z.string().min(1),
    instanceId: z.string().min(1),
    /** Base URL of the control plane (`…/api/v1/relay/health` is appended); null = no health reports. */
    controlPlaneUrl: z.url().nullable().default(null),
    relayCredential: z.string().min(1).nullable().default(null),
    pairToken: srtPassphrase,
    relayWsToken: z.string().min(16, 'relay_ws_token must have at least 16 characters'),
    egressPassphrase: srtPassphrase,
    bindHost: z.string().min(1).default('0.0.0.0'),
    /** First ingest port; link i listens on ingestPort + 2·i unless `ingestPorts` lists them. */
    ingestPort: port.default(9000),
    ingestPorts: z.array(port).min(1).nullable().default(null),
    maxLinks: z.number().int().min(1).max(16).default(2),
    egressPort: port.default(9001),
    /**
     * UDP port of the SRTLA receiver for bonding senders (null = none). It forwards every
     * connection group to the first ingest listener, so the pair token still guards the stream.
     */
    srtlaPort: port.nullable().default(null),
    /**
     * SRT reorder tolerance (packets) of the first ingest listener when SRTLA is on: bonded links
     * deliver out of order, and without it every reordering would be NAKed and resent.
     */
    srtlaReorderPackets: z.number().int().min(0).max(1_000).default(40),
    telemetryPort: port.default(7443),
    maxSessionSeconds: z.number().int().positive().default(57_600),
    healthIntervalMs: z.number().int().positive().default(10_000),
    stallAfterMs: z.number().int().positive().default(300),
    orphanAfterS: z.number().positive().default(900),
    idleAfterS: z.number().positive().default(600),
    /** Run after a self-destruct decision (AWS images: `shutdown -h now`); null = only exit. */
    shutdownCommand: z.string().min(1).nullable().default(null),
    /**
     * SRT receive latency of the ingest listeners (ms); null = SRT's default (120 ms). A stall is
     * seen at most this much later than the sender stopped, so it adds to the detection time.
     */
    ingestLatencyMs: z.number().int().min(0).max(10_000).nullable().default(null),
    /**
     * A link silent this long gets a fresh listener (0 = never). `srt-live-transmit` serves one
     * caller and listens again only after SRT's 5 s peer-idle timeout, so a phone reconnecting after
     * a network switch or an app restart would be refused until then.
     */
    relistenAfterStallMs: z.number().int().min(0).default(1_500),
    /** Packets between two SRT statistics lines of `srt-live-transmit`. */
    statsEveryPackets: z.number().int().positive().default(100),
    srtLiveTransmitPath: z.string().min(1).default('srt-live-transmit'),
    logLevel: z.string().default('info'),
  })
  .refine((c) => c.controlPlaneUrl === null || c.relayCredential !== null, {
    message: 'a control plane URL needs the relay credential (TELEMY_RELAY_CREDENTIAL)',
    path: ['relayCredential'],
  })
  .refine((c) => c.ingestPorts === null || c.ingestPorts.length <= c.maxLinks, {
    message: 'more ingest ports than max_links',
    path: ['ingestPorts'],
  });

export type RelayAgentConfig = z.output<typeof RelayAgentConfigSchema>;
export type RelayAgentConfigInput = z.input<typeof RelayAgentConfigSchema>;

/** Validates a configuration; the error names every offending field, never a secret's value. */
export function parseRelayConfig(input: RelayAgentConfigInput): RelayAgentConfig {
  const result = RelayAgentConfigSchema.safeParse(input);
  if (!result.success) {
    const fields = result.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new Error(`invalid relay configuration: ${fields.join('; ')}`);
  }
  return result.data;
}

/** The ingest port of each link. */
export function ingestPortsOf(config: RelayAgentConfig): number[] {
  if (config.ingestPorts) return config.ingestPorts;
  return Array.from({ length: config.maxLinks }, (_, i) => config.ingestPort + 2 * i);
}

/** Environment variable for each setting (the provider side writes these; the CLI reads them). */
export const RELAY_ENV = {
  sessionId: 'TELEMY_RELAY_SESSION_ID',
  instanceId: 'TELEMY_RELAY_INSTANCE_ID',
  controlPlaneUrl: 'TELEMY_RELAY_CONTROL_PLANE_URL',
  relayCredential: 'TELEMY_RELAY_CREDENTIAL',
  pairToken: 'TELEMY_RELAY_PAIR_TOKEN',
  relayWsToken: 'TELEMY_RELAY_WS_TOKEN',
  egressPassphrase: 'TELEMY_RELAY_EGRESS_PASSPHRASE',
  bindHost: 'TELEMY_RELAY_BIND_HOST',
  ingestPort: 'TELEMY_RELAY_INGEST_PORT',
  ingestPorts: 'TELEMY_RELAY_INGEST_PORTS',
  maxLinks: 'TELEMY_RELAY_MAX_LINKS',
  egressPort: 'TELEMY_RELAY_EGRESS_PORT',
  srtlaPort: 'TELEMY_RELAY_SRTLA_PORT',
  srtlaReorderPackets: 'TELEMY_RELAY_SRTLA_REORDER_PACKETS',
  telemetryPort: 'TELEMY_RELAY_TELEMETRY_PORT',
  maxSessionSeconds: 'TELEMY_RELAY_MAX_SESSION_SECONDS',
  healthIntervalMs: 'TELEMY_RELAY_HEALTH_INTERVAL_MS',
  stallAfterMs: 'TELEMY_RELAY_STALL_AFTER_MS',
  orphanAfterS: 'TELEMY_RELAY_ORPHAN_AFTER_S',
  idleAfterS: 'TELEMY_RELAY_IDLE_AFTER_S',
  shutdownCommand: 'TELEMY_RELAY_SHUTDOWN_COMMAND',
  ingestLatencyMs: 'TELEMY_RELAY_INGEST_LATENCY_MS',
  relistenAfterStallMs: 'TELEMY_RELAY_RELISTEN_AFTER_STALL_MS',
  statsEveryPackets: 'TELEMY_RELAY_STATS_EVERY_PACKETS',
  srtLiveTransmitPath: 'TELEMY_RELAY_SRT_LIVE_TRANSMIT',
  logLevel: 'TELEMY_RELAY_LOG_LEVEL',
} as const satisfies Record<keyof RelayAgentConfig, string>;

const NUMERIC_KEYS = new Set<keyof RelayAgentConfig>([
  'ingestPort',
  'maxLinks',
  'egressPort',
  'srtlaPort',
  'srtlaReorderPackets',
  'telemetryPort',
  'maxSessionSeconds',
  'healthIntervalMs',
  'stallAfterMs',
  'orphanAfterS',
  'idleAfterS',
  'ingestLatencyMs',
  'relistenAfterStallMs',
  'statsEveryPackets',
]);

/**
 * Converts raw text settings (environment values or CLI flags, by config key) into config input:
 * numbers are parsed, `ingestPorts` is a comma-separated list, empty strings count as unset.
 */
export function relayConfigFromStrings(
  raw: Partial<Record<keyof RelayAgentConfig, string | undefined>>,
): RelayAgentConfigInput {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw) as [keyof RelayAgentConfig, string | undefined][]) {
    if (value === undefined || value === '') continue;
    if (key === 'ingestPorts') out[key] = value.split(',').map((p) => Number(p.trim()));
    else if (NUMERIC_KEYS.has(key)) out[key] = Number(value);
    else out[key] = value;
  }
  return out as RelayAgentConfigInput;
}

/** Reads the `TELEMY_RELAY_*` variables. */
export function relayConfigFromEnv(env: NodeJS.ProcessEnv): RelayAgentConfigInput {
  const raw: Partial<Record<keyof RelayAgentConfig, string | undefined>> = {};
  for (const [key, name] of Object.entries(RELAY_ENV) as [keyof RelayAgentConfig, string][])
    raw[key] = env[name];
  return relayConfigFromStrings(raw);
}

/** The reverse of `relayConfigFromEnv`, for providers that launch an agent. */
export function relayConfigToEnv(input: Partial<RelayAgentConfigInput>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, name] of Object.entries(RELAY_ENV) as [keyof RelayAgentConfig, string][]) {
    const value = (input as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    env[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}
