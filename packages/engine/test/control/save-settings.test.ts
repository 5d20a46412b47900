import { readFileSync, writeFileSync } from 'node:fs';
import { type DockActionInput, dockActionSchema, timingsFormSchema } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { parseConfigText, type TelemyConfig, validateConfig } from '../../src/config/index.js';
import { handleDockAction } from '../../src/control/dock-actions.js';
import { controlRig } from './fixtures.js';

/** Two sources with every field the settings page does not show, as a streamer writes them by hand. */
const CONFIG = `config_version = 3

[failover]
low_bitrate_kbps = 1500
offline_bitrate_kbps = 300

[[sources]]
name = "nms"
type = "node_media_server"
priority = 10
enabled = true
url = "http://127.0.0.1:8000/api/v1/streams"
publisher = "live"
stream = "irl"
username = "admin"
password_key = "nms_password"

[[sources]]
name = "sls"
type = "sls"
priority = 20
enabled = false
url = "http://127.0.0.1:8181/stats"
publisher = "live/feed"
stream = "play/feed"
username = "statsuser"
password_key = "sls_password"
`;

type FormSources = NonNullable<Extract<DockActionInput, { type: 'save_settings' }>['settings']>['sources'];

/** What the settings page sends: every section from the loaded config, sources as the page shows them. */
function saveAction(c: TelemyConfig, sources: FormSources, lowBitrate: number) {
  return dockActionSchema.parse({
    type: 'save_settings',
    action_id: 'save-1',
    settings: {
      obs: { host: c.obs.host, port: c.obs.port, password: '' },
      scenes: {
        live: c.scenes.live,
        low: c.scenes.low,
        brb: c.scenes.brb,
        offline: c.scenes.offline,
        managed_extra: c.scenes.managed_extra,
      },
      thresholds: {
        low_bitrate_kbps: lowBitrate,
        offline_bitrate_kbps: c.failover.offline_bitrate_kbps,
        low_rtt_ms: c.failover.low_rtt_ms,
        offline_rtt_ms: c.failover.offline_rtt_ms,
      },
      timings: Object.fromEntries(
        Object.keys(timingsFormSchema.shape).map((k) => [k, c.failover[k as keyof typeof c.failover]]),
      ),
      sources,
      chat: { twitch: { channel: '' }, kick: { channel: '' }, youtube: { channel: '' } },
      cloud: { mode: c.cloud.mode, region_preference: c.cloud.region_preference, api_key: '' },
      otlp: { enabled: c.otlp.enabled, interval_ms: c.otlp.interval_ms, auth_value: '' },
      outputs: [],
    },
  });
}

/** The sources as the page loads them: only the fields it edits, plus the name each was loaded as. */
function shownSources(c: TelemyConfig): FormSources {
  return c.sources.map((s) => ({
    name: s.name,
    type: s.type,
    priority: s.priority,
    enabled: s.enabled,
    url: s.url ?? '',
    stats_file: s.stats_file ?? '',
    input: s.input ?? '',
    was: s.name,
  }));
}

async function rigWithSources() {
  const config = validateConfig(parseConfigText(CONFIG, 'config.toml'), 'config.toml');
  const rig = await controlRig(config);
  writeFileSync(rig.store.path, CONFIG);
  const save = (sources: FormSources, lowBitrate: number) =>
    handleDockAction(saveAction(config, sources, lowBitrate), () => {}, {
      control: rig.control,
      cloud: () => null,
      ackEvent: () => false,
    });
  const reread = () => validateConfig(parseConfigText(readFileSync(rig.store.path, 'utf8'), 'x'), 'x');
  return { config, save, reread };
}

describe('saving the settings page keeps the [[sources]] fields it does not show', () => {
  it('a threshold change leaves publisher, stream, username and password_key of every source', async () => {
    const { config, save, reread } = await rigWithSources();
    expect(await save(shownSources(config), 2500)).toMatchObject({ status: 'completed' });

    const after = reread();
    expect(after.failover.low_bitrate_kbps).toBe(2500);
    expect(after.sources).toEqual(config.sources);
    expect(after.sources[0]).toMatchObject({
      publisher: 'live',
      stream: 'irl',
      username: 'admin',
      password_key: 'nms_password',
    });
    expect(after.sources[1]).toMatchObject({
      publisher: 'live/feed',
      stream: 'play/feed',
      username: 'statsuser',
      password_key: 'sls_password',
    });
  });

  it('a renamed or edited source keeps its other fields; a field cleared on the page goes', async () => {
    const { config, save, reread } = await rigWithSources();
    const [nms, sls] = shownSources(config) as [FormSources[number], FormSources[number]];
    const result = await save(
      [
        { ...nms, name: 'nms-home', priority: 5, url: 'http://10.0.0.2:8000/api/v1/streams' },
        { ...sls, type: 'obs_output', url: '' },
      ],
      1500,
    );
    expect(result).toMatchObject({ status: 'completed' });

    const [nmsBefore, slsBefore] = config.sources;
    const { url: _cleared, ...slsKept } = slsBefore ?? { url: '' };
    expect(reread().sources).toEqual([
      { ...nmsBefore, name: 'nms-home', priority: 5, url: 'http://10.0.0.2:8000/api/v1/streams' },
      { ...slsKept, type: 'obs_output' },
    ]);
  });

  it('a new source given the old name of a renamed one does not take its fields', async () => {
    const { config, save, reread } = await rigWithSources();
    const [nms] = shownSources(config) as [FormSources[number]];
    const fresh = {
      name: 'nms',
      type: 'nginx_rtmp' as const,
      priority: 2,
      enabled: true,
      url: 'http://127.0.0.1/stat',
    };
    expect(await save([{ ...nms, name: 'nms-old' }, fresh], 1500)).toMatchObject({ status: 'completed' });
    expect(reread().sources).toEqual([{ ...config.sources[0], name: 'nms-old' }, fresh]);
  });

  it('a source added on the page starts empty, and a source removed on the page is gone', async () => {
    const { save, reread } = await rigWithSources();
    const fresh = {
      name: 'mtx',
      type: 'mediamtx' as const,
      priority: 1,
      enabled: true,
      url: 'http://127.0.0.1:9997/v3/paths/list',
    };
    expect(await save([fresh], 1500)).toMatchObject({ status: 'completed' });
    expect(reread().sources).toEqual([fresh]);
  });
});
