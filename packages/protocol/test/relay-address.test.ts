import { describe, expect, it } from 'vitest';
import { chooseRelayAddress, type NetworkInterfaces } from '../src/relay/relay-address.js';

const lo = { address: '127.0.0.1', family: 'IPv4', internal: true };
const lo6 = { address: '::1', family: 'IPv6', internal: true };

describe('chooseRelayAddress', () => {
  it('gives the phone the first non-internal IPv4 address, in interface order', () => {
    const interfaces: NetworkInterfaces = {
      lo: [lo, lo6],
      eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false }],
      wlan0: [
        { address: '192.168.1.23', family: 'IPv4', internal: false },
        { address: '192.168.1.24', family: 'IPv4', internal: false },
      ],
      docker0: [{ address: '172.17.0.1', family: 'IPv4', internal: false }],
    };
    const choice = chooseRelayAddress({ interfaces });
    expect(choice.bind_host).toBe('0.0.0.0');
    expect(choice.public_host).toBe('192.168.1.23');
    expect(choice.reason).toContain('first non-internal IPv4');
    expect(choice.reason).toContain('wlan0');
  });

  it('accepts the numeric family of older Node versions and skips link-local addresses', () => {
    const choice = chooseRelayAddress({
      interfaces: {
        eth0: [{ address: '169.254.10.2', family: 4, internal: false }],
        eth1: [{ address: '10.0.0.5', family: 4, internal: false }],
      },
    });
    expect(choice.public_host).toBe('10.0.0.5');
  });

  it('falls back to loopback, saying why, when no interface has a usable address', () => {
    const choice = chooseRelayAddress({
      interfaces: {
        lo: [lo, lo6],
        eth0: undefined,
        tun0: [{ address: '169.254.1.1', family: 'IPv4', internal: false }],
      },
    });
    expect(choice.public_host).toBe('127.0.0.1');
    expect(choice.reason).toMatch(/only this machine can reach the relay/);
  });

  it('advertises the one address a bound relay listens on', () => {
    const choice = chooseRelayAddress({
      bindHost: '10.200.0.1',
      interfaces: { eth0: [{ address: '192.168.1.23', family: 'IPv4', internal: false }] },
    });
    expect(choice).toMatchObject({ bind_host: '10.200.0.1', public_host: '10.200.0.1' });
    expect(choice.reason).toContain('bind_host');
  });

  it('takes an explicit public_host over everything else', () => {
    const choice = chooseRelayAddress({
      bindHost: '0.0.0.0',
      publicHost: '203.0.113.7',
      interfaces: { eth0: [{ address: '192.168.1.23', family: 'IPv4', internal: false }] },
    });
    expect(choice).toEqual({
      bind_host: '0.0.0.0',
      public_host: '203.0.113.7',
      reason: 'set by [relay] public_host',
    });
  });
});
