import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeIp, parseSrtRequestAddress, SrtCallerTracker } from '../src/srt-caller.js';

/**
 * stderr of `srt-live-transmit -pf:json -s:100 -loglevel:note "srt://:P?mode=listener&passphrase=…"`
 * (1.5.1, as the agent runs it) while ffmpeg published from 127.0.0.1:34664 and stopped, a caller
 * with a wrong passphrase tried from :47969, and another publisher came from :34920.
 */
const INGEST_LOG = fs
  .readFileSync(new URL('./fixtures/srt-live-transmit-1.5.1-ingest-note.stderr.txt', import.meta.url), 'utf8')
  .split('\n');

/** An IPv6 listener (`srt://[::]:P`) whose accept line came before the handshake's last log line. */
const IPV6_ACCEPT_FIRST = [
  "Media path: 'srt://[::]:47315?mode=listener' --> 'udp://127.0.0.1:47399'",
  '03:07:17.630732/SRT:RcvQ:w1.N:SRT.cn: PASSING request from: ::1:36723 to agent:779672192',
  '03:07:17.630875/SRT:RcvQ:w1.N:SRT.cn: Listener managed the connection request from: ::1:36723 result:waveahand',
  '03:07:17.630942/SRT:RcvQ:w1.N:SRT.cn: PASSING request from: ::1:36723 to agent:779672192',
  '03:07:17.631398/SRT:RcvQ:w1.N:SRT.cn: HSREQ/rcv: cmd=1(HSREQ) len=12 vers=0x10501 opts=0xbf delay=120',
  '03:07:17.631700/SRT:RcvQ:w1.N:SRT.cn: listen ret: -1 - conclusion',
  'Accepted SRT source connection',
  '03:07:17.631776/SRT:RcvQ:w1.N:SRT.cn: Listener managed the connection request from: ::1:36723 result:waveahand',
];

/** Feeds lines up to (and including) the first one containing `until`; returns the lines left. */
function feed(tracker: SrtCallerTracker, lines: string[], until?: string): string[] {
  const rest = [...lines];
  while (rest.length > 0) {
    const line = rest.shift() as string;
    tracker.line(line);
    if (until && line.includes(until)) break;
  }
  return rest;
}

describe('parseSrtRequestAddress', () => {
  it('reads the caller address of both handshake line forms', () => {
    expect(parseSrtRequestAddress(INGEST_LOG[1] as string)).toBe('127.0.0.1');
    expect(parseSrtRequestAddress(INGEST_LOG[2] as string)).toBe('127.0.0.1');
    expect(parseSrtRequestAddress(IPV6_ACCEPT_FIRST[1] as string)).toBe('::1');
  });

  it('ignores every other line of the log', () => {
    for (const line of [...INGEST_LOG, ...IPV6_ACCEPT_FIRST].filter((l) => !l.includes('request from:'))) {
      expect(parseSrtRequestAddress(line)).toBeNull();
    }
  });

  it('refuses what is not an IP address instead of reporting it', () => {
    expect(parseSrtRequestAddress('PASSING request from: somehost:1234 to agent:1')).toBeNull();
    expect(parseSrtRequestAddress('PASSING request from: 999.1.1.1:1234 to agent:1')).toBeNull();
    expect(parseSrtRequestAddress('PASSING request from: 127.0.0.1 to agent:1')).toBeNull();
  });

  it('normalizes bracketed and IPv4-mapped addresses', () => {
    expect(normalizeIp('[2001:db8::7]')).toBe('2001:db8::7');
    expect(normalizeIp('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(normalizeIp('')).toBeNull();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseSrtRequestAddress(s);
        parseSrtRequestAddress(`request from: ${s}`);
      }),
    );
  });
});

describe('SrtCallerTracker', () => {
  it('knows the publisher from the accept until it disconnects', () => {
    const t = new SrtCallerTracker();
    let rest = feed(t, INGEST_LOG, 'listen ret: -1 - conclusion');
    expect(t.address).toBeNull();
    expect(t.line(rest.shift() as string)).toBeNull(); // the handshake's last line
    expect(t.line(rest.shift() as string)).toBe('accepted');
    expect(t.address).toBe('127.0.0.1');
    expect(t.line(rest.shift() as string)).toBe('disconnected');
    expect(t.address).toBeNull();
    // The wrong-passphrase caller never gets in: still nobody.
    rest = feed(t, rest, 'result:INVALID');
    expect(t.address).toBeNull();
    feed(t, rest, 'Accepted SRT source connection');
    expect(t.address).toBe('127.0.0.1');
  });

  it('takes the concluded caller, not a later request line', () => {
    const t = new SrtCallerTracker();
    feed(t, INGEST_LOG.slice(0, 8)); // up to "listen ret: -1 - conclusion"
    t.line('03:09:08.408792/SRT:RcvQ:w1.N:SRT.cn: PASSING request from: 198.51.100.4:47969 to agent:1');
    t.line('Accepted SRT source connection');
    expect(t.address).toBe('127.0.0.1');
  });

  it('takes the last request when the accept is printed before the conclusion', () => {
    const t = new SrtCallerTracker();
    const reordered = IPV6_ACCEPT_FIRST.filter((l) => !l.includes('conclusion'));
    feed(t, reordered, 'Accepted SRT source connection');
    expect(t.address).toBe('::1');
    // The late conclusion line must not carry this caller over to the next one.
    t.line('03:07:17.631700/SRT:RcvQ:w1.N:SRT.cn: listen ret: -1 - conclusion');
    t.line('SRT source disconnected');
    t.line('03:09:09.068089/SRT:RcvQ:w1.N:SRT.cn: PASSING request from: 203.0.113.7:34920 to agent:1');
    t.line('Accepted SRT source connection');
    expect(t.address).toBe('203.0.113.7');
  });

  it('reads an IPv6 caller whose accept came before the last handshake line', () => {
    const t = new SrtCallerTracker();
    feed(t, IPV6_ACCEPT_FIRST);
    expect(t.address).toBe('::1');
  });

  it('learns the caller from a handshake printed entirely after the accept', () => {
    const t = new SrtCallerTracker();
    const acceptFirst = [
      'Accepted SRT source connection',
      ...IPV6_ACCEPT_FIRST.filter((l) => !l.includes('Accepted SRT source connection')),
    ];
    expect(t.line(acceptFirst[0] as string)).toBe('accepted');
    expect(t.address).toBeNull();
    feed(t, acceptFirst.slice(1));
    expect(t.address).toBe('::1');
  });

  it('reports a connection without an address when the log names none', () => {
    const t = new SrtCallerTracker();
    expect(t.line('Accepted SRT source connection')).toBe('accepted');
    expect(t.address).toBeNull();
  });

  it('forgets the caller on reset (a restarted srt-live-transmit)', () => {
    const t = new SrtCallerTracker();
    feed(t, INGEST_LOG, 'Accepted SRT source connection');
    expect(t.address).toBe('127.0.0.1');
    t.reset();
    expect(t.address).toBeNull();
    t.line('Accepted SRT source connection');
    expect(t.address).toBeNull();
  });
});
