import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@telemy/protocol';
import { processAlive } from '@telemy/protocol/pid-lock';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRelayProvider } from '../../src/providers/local.js';
import type { RelayProvisionRequest } from '../../src/providers/types.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-local-provider-'));
process.env.TELEMY_HOME = home;

function request(sessionId: string): RelayProvisionRequest {
  return {
    session_id: sessionId,
    user_id: 'usr_1',
    region: 'local',
    image_id: 'local-process',
    instance_type: 'process',
    agent: {
      control_plane_url: 'http://127.0.0.1:9',
      relay_credential: 'rly_local_test_credential',
      pair_token: 'PAIRTOKENABCDEFGH234',
      relay_ws_token: 'ws-token-0123456789abcdef',
      egress_passphrase: 'EGRESSPASSWORD7654',
      max_session_seconds: 3_600,
    },
  };
}

/** Running, as the provider judges it: an exited relay not yet reaped by this process is gone. */
const alive = processAlive;

describe('LocalRelayProvider', () => {
  const provider = new LocalRelayProvider({
    env: { ...process.env, TELEMY_HOME: home },
    log: createLogger('test', { level: 'silent' }),
  });

  afterAll(async () => {
    for (const r of await provider.list()) await provider.deprovision(r.instance_id);
  });

  it('provisions a relay process that answers /healthz, lists it, and kills it on deprovision', async () => {
    const relay = await provider.provision(request('ses_local1'));
    expect(relay.public_ip).toBe('127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${relay.ws_port}/healthz`);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      session_id: 'ses_local1',
      instance_id: relay.instance_id,
    });
    // Its SRTLA port answers a sender's first registration attempt (an unknown group: REG_NGP).
    const srtla = dgram.createSocket('udp4');
    const answer = new Promise<Buffer>((r) => srtla.once('message', r));
    srtla.send(
      Buffer.concat([Buffer.from([0x92, 0x01]), Buffer.alloc(256, 7)]),
      relay.srtla_port as number,
      '127.0.0.1',
    );
    expect((await answer).toString('hex')).toBe('9211');
    srtla.close();
    expect(await provider.list()).toEqual([
      { instance_id: relay.instance_id, session_id: 'ses_local1', region: 'local', state: 'running' },
    ]);
    const pid = provider.pidOf(relay.instance_id) as number;
    expect(alive(pid)).toBe(true);

    // A second provider instance (a restarted control plane) still knows the relay.
    const again = new LocalRelayProvider({ env: { ...process.env, TELEMY_HOME: home } });
    expect((await again.list()).map((r) => r.instance_id)).toEqual([relay.instance_id]);

    await provider.deprovision(relay.instance_id, 'local');
    expect(alive(pid)).toBe(false);
    expect(await provider.list()).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${relay.ws_port}/healthz`)).rejects.toThrow();
    // The relay's srt-live-transmit children went with its process group.
    const leftovers = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs
            .readFileSync(`/proc/${p}/cmdline`, 'utf8')
            .includes(`:${relay.egress_port}?mode=listener`);
        } catch {
          return false;
        }
      });
    expect(leftovers).toEqual([]);
  });

  it('treats deprovisioning an instance that is already gone as success', async () => {
    await expect(provider.deprovision('local-doesnotexist', 'local')).resolves.toBeUndefined();
  });

  it('fails provisioning with the relay log when the agent cannot start, leaving nothing behind', async () => {
    const bad = new LocalRelayProvider({
      env: { ...process.env, TELEMY_HOME: home },
      log: createLogger('test', { level: 'silent' }),
      agentOverrides: { srtLiveTransmitPath: '/nonexistent/srt-live-transmit' },
      readyTimeoutMs: 20_000,
    });
    await expect(bad.provision(request('ses_local2'))).rejects.toThrow(
      /exited before it answered \/healthz.*srt-live-transmit/,
    );
    expect(await bad.list()).toEqual([]);
  });
});
