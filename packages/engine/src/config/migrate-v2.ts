/**
 * Telemy v0.0.2 → v3 config conversion (docs/UPGRADING.md). The v0.0.2 file had no `config_version` and the
 * sections below; what has a v3 home is carried over, everything else is reported with the reason.
 */

export const V2_SECTIONS = [
  'obs',
  'server',
  'vault',
  'grafana',
  'aegis',
  'network',
  'startup',
  'tray',
  'theme',
  'output_names',
] as const;

const V2_ONLY = new Set(['vault', 'grafana', 'aegis', 'network', 'startup', 'tray', 'theme', 'output_names']);

export function isV2Config(raw: Record<string, unknown>): boolean {
  const keys = Object.keys(raw);
  return (
    keys.length > 0 &&
    keys.every((k) => (V2_SECTIONS as readonly string[]).includes(k)) &&
    keys.some((k) => V2_ONLY.has(k) || k === 'obs')
  );
}

export interface DroppedKey {
  key: string;
  reason: string;
}

export interface MigrationResult {
  config: Record<string, unknown>;
  dropped: DroppedKey[];
}

type Table = Record<string, unknown>;

const asTable = (v: unknown): Table =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Table) : {};

export function migrateV2(v2: Table): MigrationResult {
  const dropped: DroppedKey[] = [];
  const out: Table = { config_version: 3 };
  const take = (section: string, mapping: Record<string, string>, target: Table) => {
    for (const [k, v] of Object.entries(asTable(v2[section]))) {
      const to = mapping[k];
      if (to) target[to] = v;
      else dropped.push({ key: `${section}.${k}`, reason: reasonFor(section, k) });
    }
  };

  const obs: Table = {};
  take('obs', { host: 'host', port: 'port' }, obs);
  if (Object.keys(obs).length > 0) out.obs = obs;

  const server: Table = {};
  take('server', { port: 'port', host: 'host', bind: 'host', lan_access: 'lan_access' }, server);
  if (Object.keys(server).length > 0) out.server = server;

  const grafana = asTable(v2.grafana);
  if (Object.keys(grafana).length > 0) {
    const otlp: Table = {};
    take(
      'grafana',
      {
        enabled: 'enabled',
        endpoint: 'endpoint',
        otlp_endpoint: 'endpoint',
        push_interval_ms: 'interval_ms',
        interval_ms: 'interval_ms',
      },
      otlp,
    );
    out.otlp = otlp;
  }

  const aegis = asTable(v2.aegis);
  if (Object.keys(aegis).length > 0) {
    const cloud: Table = { mode: aegis.enabled === false ? 'off' : 'remote' };
    take(
      'aegis',
      {
        base_url: 'base_url',
        url: 'base_url',
        region: 'region_preference',
        region_preference: 'region_preference',
        enabled: '_',
      },
      cloud,
    );
    delete cloud._;
    out.cloud = cloud;
  }

  const names = asTable(v2.output_names);
  const outputs = Object.entries(names)
    .filter(([, v]) => typeof v === 'string' && v.length > 0)
    .map(([obsId, display]) => ({ obs_id: obsId, display_name: display as string }));
  if (outputs.length > 0) out.outputs = outputs;

  for (const section of ['vault', 'network', 'startup', 'tray', 'theme']) {
    for (const k of Object.keys(asTable(v2[section])))
      dropped.push({ key: `${section}.${k}`, reason: reasonFor(section, k) });
  }
  return { config: out, dropped };
}

function reasonFor(section: string, key: string): string {
  if (section === 'tray') return 'the tray icon is gone: the dashboard and the OBS dock replace it';
  if (section === 'startup')
    return 'start-up is handled by `telemy start` (run it from your OS autostart if wanted)';
  if (section === 'network' && key === 'latency_target')
    return 'the latency probe is replaced by per-source RTT from the ingest stats';
  if (section === 'network') return 'no v3 equivalent';
  if (section === 'theme') return 'the dashboard follows the system light/dark theme';
  if (section === 'vault')
    return 'the v3 vault lives in the data folder; import old secrets with `telemy vault import-v2 PATH`';
  if (key.includes('password') || key.includes('token') || key.includes('key') || key === 'username') {
    return 'secrets do not belong in the config: store it with `telemy vault set` (see docs/UPGRADING.md)';
  }
  return 'no v3 equivalent';
}
