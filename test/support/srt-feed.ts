/**
 * A real SRT ingest for failover tests: `srt-live-transmit` listening for a phone and writing JSON
 * stats to a file (what a `srt_live_transmit` source reads), plus an ffmpeg publisher that can be
 * killed, restarted and re-rated, and a caller that connects but sends no payload.
 *
 * ```ts
 * const feed = await startSrtFeed({ port: 45100, sinkPort: 45101, dir });
 * feed.publish(2000);          // constant 2 Mb/s video
 * await feed.kill();           // SIGKILL: a dropped phone does not say goodbye
 * feed.publish(400);           // back, at a low bitrate
 * await feed.stop();
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface SrtFeedOptions {
  /** UDP port srt-live-transmit listens on for the publisher. */
  port: number;
  /** UDP port the received media is forwarded to (nobody needs to listen). */
  sinkPort: number;
  /** Folder for the stats file. */
  dir: string;
  /** `-s:<n>`: one stats line every n received packets (≈ 190 packets/s at 2 Mb/s). Default 20. */
  statsEveryPackets?: number;
  /**
   * Run the publisher at real-time priority (`chrt -f 10`, which execs ffmpeg: same pid). The phone
   * is another device in real life; on a test machine kept busy on purpose, this keeps its encoder
   * from being starved, so gaps in the feed are the ingest's and not the phone's.
   */
  publisherRealtime?: boolean;
}

export interface SrtFeed {
  readonly statsFile: string;
  /** `srt://127.0.0.1:<port>` */
  readonly url: string;
  /** Starts the ffmpeg publisher at a constant `kbps` of video, replacing (hanging up) a running one. */
  publish(kbps: number): void;
  /**
   * Stops the publisher (or the silent caller); resolves once it has exited. SIGKILL (default): the
   * phone vanishes and the listener refuses callers until SRT's peer-idle timeout (5 s); SIGINT:
   * ffmpeg hangs up properly and a new caller is accepted at once.
   */
  kill(signal?: 'SIGKILL' | 'SIGINT'): Promise<void>;
  /** An SRT caller that completes the handshake and then sends nothing (replaces the publisher). */
  connectSilent(): void;
  /** Appends raw text to the stats file, as if srt-live-transmit wrote garbage. */
  writeStats(text: string): void;
  /** Size of the stats file in bytes (0 when it does not exist yet). */
  statsSize(): number;
  /** How many SRT callers srt-live-transmit has accepted so far. */
  accepted(): number;
  /** The last 2000 characters srt-live-transmit wrote to stderr, for a failure message. */
  relayLog(): string;
  /** `Date.now()` when srt-live-transmit last reported an accepted caller (its stderr line). */
  lastAcceptedAt(): number | null;
  /** `Date.now()` when the publisher was last (re)started by the test, or null while none runs. */
  publishedAt(): number | null;
  stop(): Promise<void>;
}

export async function startSrtFeed(opts: SrtFeedOptions): Promise<SrtFeed> {
  const statsFile = join(opts.dir, `srt-stats-${opts.port}.json`);
  const url = `srt://127.0.0.1:${opts.port}`;
  const relay = spawn(
    'srt-live-transmit',
    [
      '-pf:json',
      `-statsout:${statsFile}`,
      `-s:${opts.statsEveryPackets ?? 20}`,
      `srt://:${opts.port}?mode=listener`,
      `udp://127.0.0.1:${opts.sinkPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let relayErr = '';
  let acceptedCount = 0;
  let lastAcceptedAt: number | null = null;
  let partialLine = '';
  relay.stderr?.on('data', (d: Buffer) => {
    // Whole lines only: a busy machine can hand over a line in two chunks.
    const lines = (partialLine + d.toString()).split('\n');
    partialLine = lines.pop() ?? '';
    const n = lines.filter((l) => /Accepted SRT source connection|SRT source connected/.test(l)).length;
    if (n > 0) {
      acceptedCount += n;
      lastAcceptedAt = Date.now();
    }
    relayErr = (relayErr + d.toString()).slice(-2000);
  });
  await new Promise((r) => setTimeout(r, 300));
  if (relay.exitCode !== null) throw new Error(`srt-live-transmit exited: ${relayErr.trim()}`);

  let publisher: ChildProcess | null = null;
  let startedAt: number | null = null;
  let generation = 0;
  const children = new Set<ChildProcess>();

  const kill = async (signal: 'SIGKILL' | 'SIGINT' = 'SIGKILL'): Promise<void> => {
    generation += 1;
    const p = publisher;
    publisher = null;
    startedAt = null;
    if (!p) return;
    p.kill(signal);
    await exited(p);
  };

  /**
   * Runs `spawnOne` until it stays up: after a SIGKILLed caller the listener keeps the dead session
   * until SRT's 5 s peer-idle timeout and refuses a new caller meanwhile (ffmpeg then exits), so a
   * restarted phone retries like a real one would.
   */
  const keepRunning = (spawnOne: () => ChildProcess): void => {
    // A replaced publisher hangs up properly (SIGINT: ffmpeg closes the SRT session), so the
    // listener accepts the new one at once, like a phone changing its encoder settings. One that
    // has not exited 2 s later (a loaded machine) is killed: its session then ends at SRT's 5 s
    // peer-idle timeout instead of never, and the new caller's retries get in.
    const replaced = publisher;
    if (replaced) {
      replaced.kill('SIGINT');
      setTimeout(() => {
        if (replaced.exitCode === null && replaced.signalCode === null) replaced.kill('SIGKILL');
      }, 2000);
    }
    const gen = ++generation;
    startedAt = Date.now();
    const launch = (): void => {
      const child = spawnOne();
      publisher = child;
      children.add(child);
      child.once('exit', () => {
        children.delete(child);
        if (gen !== generation) return;
        setTimeout(() => {
          if (gen === generation) launch();
        }, 200);
      });
    };
    launch();
  };

  return {
    statsFile,
    url,
    publish(kbps) {
      const realtime = opts.publisherRealtime ? ['-f', '10', 'ffmpeg'] : [];
      keepRunning(() =>
        spawn(
          opts.publisherRealtime ? 'chrt' : 'ffmpeg',
          [
            ...realtime,
            ...['-hide_banner', '-loglevel', 'error', '-re'],
            ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine'],
            ...['-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', `${kbps}k`, '-minrate', `${kbps}k`],
            ...['-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`, '-x264-params', 'nal-hrd=cbr'],
            ...['-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', `${url}?mode=caller`],
          ],
          { stdio: 'ignore' },
        ),
      );
    },
    kill: (signal) => kill(signal),
    connectSilent() {
      // Its input is a stdin pipe nobody writes to (kept open while it runs): the SRT session is up,
      // no packet ever flows. (A fixed UDP input port was taken, in a full suite, by some other
      // process's ephemeral port: the caller then exited at once, again and again.)
      keepRunning(() =>
        spawn('srt-live-transmit', ['file://con', `${url}?mode=caller`], {
          stdio: ['pipe', 'ignore', 'ignore'],
        }),
      );
    },
    writeStats(text) {
      appendFileSync(statsFile, text);
    },
    statsSize() {
      try {
        return statSync(statsFile).size;
      } catch {
        return 0;
      }
    },
    accepted: () => acceptedCount,
    relayLog: () => relayErr,
    lastAcceptedAt: () => lastAcceptedAt,
    publishedAt: () => startedAt,
    async stop() {
      await kill('SIGKILL');
      for (const c of children) c.kill('SIGKILL');
      await Promise.all([...children].map(exited));
      relay.kill('SIGKILL');
      await exited(relay);
    },
  };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}
