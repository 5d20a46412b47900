import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import WebSocket from 'ws';

/** Real SRT peers for the relay tests: ffmpeg as the phone, srt-live-transmit as OBS. */

export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function freeTcpPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface Publisher {
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(): void;
}

/**
 * ffmpeg publishing a test pattern to an SRT listener (the phone). `latencyMs` is the SRT latency it
 * asks for (20 ms keeps a stall visible quickly; phones often use SRT's default of 120 ms or more).
 */
export function publish(port: number, passphrase: string, latencyMs = 20): Publisher {
  const child = spawn(
    'ffmpeg',
    [
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x180:rate=30',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-b:v',
      '800k',
      '-g',
      '30',
      '-f',
      'mpegts',
      // ffmpeg takes SRT latency in microseconds.
      `srt://127.0.0.1:${port}?mode=caller&passphrase=${passphrase}&latency=${latencyMs * 1000}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, kill: () => child.kill('SIGKILL') };
}

export interface Subscriber {
  bytes(): number;
  firstByte(): number | null;
  stop(): Promise<void>;
}

/** srt-live-transmit pulling the egress like OBS does, delivering to a UDP socket we count on. */
export async function subscribe(port: number, passphrase: string): Promise<Subscriber> {
  const sink = dgram.createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  let bytes = 0;
  let first: number | null = null;
  sink.on('message', (m) => {
    bytes += m.length;
    if (first === null) first = m[0] ?? null;
  });
  const child = spawn(
    'srt-live-transmit',
    [
      `srt://127.0.0.1:${port}?mode=caller&passphrase=${passphrase}`,
      `udp://127.0.0.1:${sink.address().port}`,
    ],
    { stdio: 'ignore' },
  );
  return {
    bytes: () => bytes,
    firstByte: () => first,
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      sink.close();
    },
  };
}

export async function waitFor<T>(
  check: () => T | undefined | null | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function waitForAsync(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TelemetryTap {
  messages: Array<Record<string, unknown> & { type: string; receivedAt: number }>;
  close(): void;
}

export async function tapTelemetry(port: number, token: string): Promise<TelemetryTap> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/telemetry`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const messages: TelemetryTap['messages'] = [];
  ws.on('message', (d) => messages.push({ ...JSON.parse(String(d)), receivedAt: performance.now() }));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { messages, close: () => ws.terminate() };
}

/** Status of a refused upgrade, or 101 when the socket opened. */
export function upgradeStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/telemetry`, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}
