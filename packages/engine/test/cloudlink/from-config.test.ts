import { createLogger } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloudLink } from '../../src/cloudlink/cloudlink.js';
import { createCloudLink } from '../../src/cloudlink/from-config.js';
import type { RelaySignal } from '../../src/cloudlink/relay-signals.js';
import { configSchema } from '../../src/config/schema.js';

const OBS_URL = 'srt://127.0.0.1:9001?mode=caller&passphrase=EGRESSEGRESSEGRESS&latency=2000000';

const activeSession = {
  session_id: 'ses_1',
  user_id: 'usr_1',
  status: 'active',
  region: 'local',
  // Port 9 is closed: the telemetry client just keeps retrying in the background.
  relay: {
    instance_id: 'i-1',
    public_ip: '127.0.0.1',
    srt_port: 9000,
    egress_port: 9001,
    ws_url: 'ws://127.0.0.1:9/telemetry',
  },
  credentials: { pair_token: 'PAIRPAIRPAIRPAIR', relay_ws_token: 'WSWSWSWSWSWSWSWS' },
  ingest: {
    srt_url: 'srt://127.0.0.1:9000?mode=caller&passphrase=PAIRPAIRPAIRPAIR&latency=2000',
    obs_source_url: OBS_URL,
  },
  timers: {
    grace_window_seconds: 600,
    max_session_seconds: 57600,
    grace_remaining_seconds: null,
    max_session_remaining_seconds: 57000,
  },
  usage: { started_at: '2026-11-22T03:00:00.000Z', ended_at: null, duration_seconds: 10 },
  links: [],
  bonded: null,
};

function config(cloud: Record<string, unknown>, relay: Record<string, unknown> = {}) {
  return configSchema.parse({ config_version: 3, cloud, relay, scenes: { live: 'Main' } });
}

const silent = createLogger('test', { level: 'silent' });
const made: CloudLink[] = [];
afterEach(() => {
  for (const l of made.splice(0)) l.close();
});

function fakeControlPlane(seen: { url: string; headers: Record<string, string> }[]) {
  return async (url: string, init: RequestInit) => {
    seen.push({ url, headers: init.headers as Record<string, string> });
    if (url.endsWith('/auth/token')) {
      return Response.json({
        cp_access_jwt: 'jwt',
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      });
    }
    if (url.endsWith('/relay/active')) return Response.json(activeSession);
    return Response.json({ error: { code: 'not_found', message: 'no' } }, { status: 404 });
  };
}

describe('createCloudLink', () => {
  const vault = { get: (k: string) => (k === 'cloud_api_key' ? 'tmk_from_vault' : null) };
  const sink = { relaySignal: () => {} };

  it('is null when the cloud is off or no control plane URL is known', () => {
    expect(createCloudLink({ config: config({ mode: 'off' }), vault, sink })).toBeNull();
    expect(createCloudLink({ config: config({ mode: 'embedded' }), vault, sink })).toBeNull();
  });

  it('talks to cloud.base_url (or the given URL) with the API key from the vault', async () => {
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const link = createCloudLink({
      config: config({ mode: 'remote', base_url: 'http://cp.example.test:8080' }),
      vault,
      sink,
      logger: silent,
      fetch: fakeControlPlane(seen),
    })!;
    made.push(link);
    await link.init();
    expect(seen[0]?.url).toBe('http://cp.example.test:8080/api/v1/auth/token');
    expect(seen[1]?.url).toBe('http://cp.example.test:8080/api/v1/relay/active');
    expect(link.currentSessionId()).toBe('ses_1');

    const embedded = createCloudLink({
      config: config({ mode: 'embedded' }),
      baseUrl: 'http://127.0.0.1:47990',
      vault,
      sink,
    });
    made.push(embedded!);
    expect(embedded?.snapshot().control_plane.base_url).toBe('http://127.0.0.1:47990');
  });

  it('configures the relay media source in the live scene under relay.obs_source_name', async () => {
    const calls: { type: string; data?: Record<string, unknown> }[] = [];
    const obs = {
      connected: true,
      async call(type: string, data?: Record<string, unknown>) {
        calls.push({ type, data });
        return type === 'GetInputList' ? { inputs: [] } : {};
      },
    };
    const signals: RelaySignal[] = [];
    const link = createCloudLink({
      config: config(
        { mode: 'remote', base_url: 'http://cp.example.test' },
        { obs_source_name: 'Phone Feed' },
      ),
      vault,
      sink: { relaySignal: (s) => signals.push(s) },
      obs,
      restoredSessionId: 'ses_1',
      logger: silent,
      fetch: fakeControlPlane([]),
    })!;
    made.push(link);
    await link.init();
    await expect.poll(() => calls.map((c) => c.type)).toEqual(['GetInputList', 'CreateInput']);
    expect(calls[1]?.data).toMatchObject({
      sceneName: 'Main',
      inputName: 'Phone Feed',
      inputKind: 'ffmpeg_source',
    });
    expect(calls[1]?.data?.inputSettings).toMatchObject({ input: OBS_URL, is_local_file: false });
    expect(link.snapshot().obs_source).toEqual({ configured: true, error: null });
    expect(signals[0]).toMatchObject({ kind: 'session_accepted', restored: true });
  });

  it('leaves OBS alone when auto_configure_obs_source is off', async () => {
    const calls: string[] = [];
    const obs = {
      connected: true,
      async call(type: string) {
        calls.push(type);
        return {};
      },
    };
    const link = createCloudLink({
      config: config(
        { mode: 'remote', base_url: 'http://cp.example.test' },
        { auto_configure_obs_source: false },
      ),
      vault,
      sink,
      obs,
      logger: silent,
      fetch: fakeControlPlane([]),
    })!;
    made.push(link);
    await link.init();
    await new Promise((r) => setTimeout(r, 50));
    expect(link.currentSessionId()).toBe('ses_1');
    expect(calls).toEqual([]);
  });
});
