import { describe, expect, it } from 'vitest';
import { afterCrash, embeddedRelayEnv, parseChildReport, RESTART_POLICY } from '../src/embedded-cloud.js';

describe('the embedded control plane child: restart decisions', () => {
  const quick = 1_000;

  it('restarts quick crashes with a doubling delay, then gives up after three in a row', () => {
    let count = 0;
    const delays: (number | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const next = afterCrash(count, quick);
      count = next.quickCrashes;
      delays.push(next.restartInMs);
    }
    expect(delays).toEqual([500, 1_000, 2_000, null]);
  });

  it('a child that ran long enough starts a new count', () => {
    expect(afterCrash(3, RESTART_POLICY.stableAfterMs)).toEqual({ quickCrashes: 1, restartInMs: 500 });
    expect(afterCrash(2, RESTART_POLICY.stableAfterMs - 1)).toEqual({ quickCrashes: 3, restartInMs: 2_000 });
  });

  it('caps the delay', () => {
    const policy = { maxQuickCrashes: 10, stableAfterMs: 60_000, firstDelayMs: 500, maxDelayMs: 4_000 };
    expect(afterCrash(5, quick, policy).restartInMs).toBe(4_000);
  });
});

describe('the embedded control plane child: stdout reports', () => {
  it('reads the ready and failed lines', () => {
    expect(parseChildReport('{"ready":"http://127.0.0.1:41234"}')).toEqual({
      ready: 'http://127.0.0.1:41234',
    });
    expect(parseChildReport('{"failed":"the embedded store is in use by process 12"}')).toEqual({
      failed: 'the embedded store is in use by process 12',
    });
  });

  it('ignores anything else a child may print', () => {
    for (const line of [
      '',
      'telemy control plane listening',
      '{"ready":"not a url"}',
      '{"ready":"http://127.0.0.1:1","extra":1}',
      '{"level":30,"msg":"ready"}',
      '[1,2]',
      'null',
    ])
      expect(parseChildReport(line), line).toBeNull();
  });
});

describe('the embedded control plane child: relay addresses', () => {
  it('hands over the [relay] addresses that are set, and leaves the others to its environment', () => {
    expect(embeddedRelayEnv({ bind_host: '0.0.0.0', public_host: '192.168.1.20' })).toEqual({
      TELEMY_LOCAL_RELAY_BIND_HOST: '0.0.0.0',
      TELEMY_LOCAL_RELAY_PUBLIC_HOST: '192.168.1.20',
    });
    expect(embeddedRelayEnv({ public_host: '10.0.0.2' })).toEqual({
      TELEMY_LOCAL_RELAY_PUBLIC_HOST: '10.0.0.2',
    });
    expect(embeddedRelayEnv({})).toEqual({});
  });
});
