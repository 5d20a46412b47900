import { describe, expect, it } from 'vitest';
import { relayAddressReason } from '../../src/cloudlink/relay-address.js';

const lan = () => ({
  lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
  wlan0: [{ address: '192.168.1.23', family: 'IPv4', internal: false }],
});
const embedded = (relay: { bind_host?: string; public_host?: string } = {}) => ({
  cloud: { mode: 'embedded' as const, api_key_key: 'k', region_preference: 'auto' },
  relay: { obs_source_name: 'Telemy Relay', auto_configure_obs_source: true, ...relay },
});

describe('relayAddressReason', () => {
  it('explains the embedded relay address the way the local provider chose it', () => {
    expect(relayAddressReason('192.168.1.23', embedded(), {}, lan)).toMatch(
      /first non-internal IPv4 address of this machine \(wlan0\)/,
    );
    expect(relayAddressReason('203.0.113.9', embedded({ public_host: '203.0.113.9' }), {}, lan)).toBe(
      'set by [relay] public_host',
    );
  });

  it('follows the environment the control plane inherits when the config sets nothing', () => {
    const env = { TELEMY_LOCAL_RELAY_BIND_HOST: '127.0.0.1' };
    expect(relayAddressReason('127.0.0.1', embedded(), env, lan)).toBe(
      'the relay listens only on [relay] bind_host',
    );
  });

  it('says when the machine would choose differently now', () => {
    expect(relayAddressReason('10.1.1.1', embedded(), {}, lan)).toMatch(
      /chosen when the relay started; it would now be 192\.168\.1\.23/,
    );
  });

  it('names a hosted relay as such', () => {
    const remote = { ...embedded(), cloud: { ...embedded().cloud, mode: 'remote' as const } };
    expect(relayAddressReason('198.51.100.4', remote, {}, lan)).toBe("the hosted relay's public address");
  });
});
