import { describe, expect, it } from 'vitest';
import { ingestPortsOf, parseRelayConfig, relayConfigFromEnv, relayConfigToEnv } from '../src/config.js';

const required = {
  sessionId: 'ses_1',
  instanceId: 'i-1',
  pairToken: 'ABCDEFGHIJKLMNOP',
  relayWsToken: 'wstoken-0123456789',
  egressPassphrase: 'QRSTUVWXYZ234567',
};

describe('relay config', () => {
  it('applies the documented defaults', () => {
    const c = parseRelayConfig(required);
    expect(c).toMatchObject({
      egressPort: 9001,
      telemetryPort: 7443,
      healthIntervalMs: 10_000,
      stallAfterMs: 300,
      orphanAfterS: 900,
      idleAfterS: 600,
      maxLinks: 2,
    });
    expect(ingestPortsOf(c)).toEqual([9000, 9002]);
    expect(ingestPortsOf(parseRelayConfig({ ...required, maxLinks: 3 }))).toEqual([9000, 9002, 9004]);
  });

  it('round-trips through the TELEMY_RELAY_* environment', () => {
    const input = {
      ...required,
      ingestPorts: [4000, 4010],
      stallAfterMs: 250,
      controlPlaneUrl: 'http://cp:8080',
      relayCredential: 'rly_x',
    };
    const env = relayConfigToEnv(input);
    expect(env.TELEMY_RELAY_INGEST_PORTS).toBe('4000,4010');
    expect(parseRelayConfig(relayConfigFromEnv(env))).toEqual(parseRelayConfig(input));
  });

  it('names bad fields without echoing secrets', () => {
    const bad = () =>
      parseRelayConfig({
        ...required,
        pairToken: 'short-pass',
        egressPassphrase: 'tiny',
        egressPort: 70_000,
      });
    expect(bad).toThrow(/egressPassphrase: SRT passphrases need 10-79 characters/);
    expect(bad).toThrow(/egressPort/);
    expect(bad).not.toThrow(/tiny/);
    expect(() => parseRelayConfig({ ...required, controlPlaneUrl: 'http://cp' })).toThrow(/relayCredential/);
  });
});
