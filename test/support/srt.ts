/**
 * SRT peers for integration tests: a `srt-live-transmit` listener that counts the bytes it
 * receives, an ffmpeg SRT publisher (the "phone"), and free-port helpers.
 *
 * ```ts
 * const listener = await startSrtListener({ port: await freeUdpPort() });
 * // point OBS at listener.url, stream, then compare:
 * const a = listener.received(); await sleep(5000); const b = listener.received();
 * const kbps = ((b.bytes - a.bytes) * 8) / (b.at - a.at);
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export interface ByteCount {
  /** Total payload bytes received so far. */
  bytes: number;
  /** `performance.now()` when this count was read. */
  at: number;
}

export interface SrtListener {
  readonly port: number;
  /** `srt://127.0.0.1:<port>` for a caller (OBS, ffmpeg) to publish to. */
  readonly url: string;
  readonly pid: number;
  received(): ByteCount;
  /** Resolves once at least `bytes` have arrived (or rejects after `timeoutMs`). */
  waitForBytes(bytes: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `srt-live-transmit "srt://:PORT?mode=listener" file://con`: the media arrives on stdout, where
 * every byte is counted (no second UDP hop that could drop packets and skew the count).
 */
export async function startSrtListener(opts: { port: number }): Promise<SrtListener> {
  const child = spawn('srt-live-transmit', [`srt://:${opts.port}?mode=listener`, 'file://con'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let bytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = exitPromise(child);
  // srt-live-transmit prints the media path once it has bound the port.
  await waitUntil(() => stderr.includes('Media path') || child.exitCode !== null, 5_000);
  if (child.exitCode !== null || child.pid === undefined) {
    throw new Error(`srt-live-transmit failed to listen on ${opts.port}: ${stderr.trim()}`);
  }
  const pid = child.pid;
  return {
    port: opts.port,
    url: `srt://127.0.0.1:${opts.port}`,
    pid,
    received: () => ({ bytes, at: performance.now() }),
    async waitForBytes(min: number, timeoutMs = 10_000) {
      if (!(await waitUntil(() => bytes >= min, timeoutMs))) {
        throw new Error(
          `SRT listener on ${opts.port} received ${bytes} bytes, expected ≥ ${min}: ${stderr.trim()}`,
        );
      }
    },
    stop: () => stopChild(child, exited),
  };
}

export interface SrtPublisher {
  readonly pid: number;
  /** Kills ffmpeg (SIGKILL: a dropped phone does not say goodbye). */
  stop(): Promise<void>;
}

/** An ffmpeg test pattern published over SRT in caller mode at `bitrateKbps`. */
export function startFfmpegPublisher(opts: {
  url: string;
  bitrateKbps: number;
  size?: string;
}): SrtPublisher {
  const size = opts.size ?? '640x360';
  const target = opts.url.includes('?') ? `${opts.url}&mode=caller` : `${opts.url}?mode=caller`;
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${size}:rate=30`,
      '-f',
      'lavfi',
      '-i',
      'sine',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-b:v',
      `${opts.bitrateKbps}k`,
      '-maxrate',
      `${opts.bitrateKbps}k`,
      '-bufsize',
      `${opts.bitrateKbps}k`,
      '-c:a',
      'aac',
      '-f',
      'mpegts',
      target,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (child.pid === undefined) throw new Error('could not spawn ffmpeg');
  child.stderr.resume();
  const exited = exitPromise(child);
  return { pid: child.pid, stop: () => stopChild(child, exited, 'SIGKILL') };
}

/** A TCP port nobody listens on right now (bind 0, read, close). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A UDP port nobody is bound to right now (SRT runs over UDP). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}

function exitPromise(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<void>,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timedOut = await Promise.race([exited.then(() => false), sleep(3_000).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
