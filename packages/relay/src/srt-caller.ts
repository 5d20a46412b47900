import net from 'node:net';

/** What a stderr line changed about the connected caller. */
export type SrtCallerChange = 'accepted' | 'disconnected';

const REQUEST_FROM = /\brequest from: (\S+):(\d+)(?:\s|$)/;
const CONCLUDED = /\blisten ret: -?\d+ - conclusion\b/;

/** `127.0.0.1`, `::1` or `[::1]`, IPv4-mapped IPv6 as plain IPv4; anything else is null. */
export function normalizeIp(host: string): string | null {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  const ip = mapped ? (mapped[1] as string) : bare;
  return net.isIP(ip) === 0 ? null : ip;
}

/** The caller address a handshake log line names, or null for any other line. */
export function parseSrtRequestAddress(line: string): string | null {
  const m = REQUEST_FROM.exec(line);
  return m ? normalizeIp(m[1] as string) : null;
}

/**
 * The address of the caller an `srt-live-transmit` listener is serving, read from its stderr.
 * The tool's "Accepted SRT source connection" line names no address; the SRT library's own log at
 * level `note` (`-loglevel:note`) does, once per handshake packet, on the receive-queue thread:
 *
 *   …/SRT:RcvQ:w1.N:SRT.cn: PASSING request from: 127.0.0.1:38448 to agent:523522618
 *   …/SRT:RcvQ:w1.N:SRT.cn: listen ret: -1 - conclusion
 *   Accepted SRT source connection
 *
 * That thread handles one handshake packet at a time, so the request line printed just before a
 * `conclusion` result belongs to the caller that got in; a rejected caller's handshake ends with
 * another result (`1010 - ERROR:BADSECRET`). The accept line comes from another thread and may be
 * printed before or after the handshake's last log lines, so the accept takes the concluded caller or,
 * when the `conclusion` line is still to come, the last request's. The log is not a stable API: a
 * line that does not match is ignored, and without any address line the caller stays unknown (null).
 */
export class SrtCallerTracker {
  private lastRequest: string | null = null;
  private concluded: string | null = null;
  private current: string | null = null;
  private connected = false;

  /** The connected caller's IP address; null while nobody is connected or it was not learnt. */
  get address(): string | null {
    return this.current;
  }

  /** Feeds one stderr line; says when a caller got connected or went away. */
  line(line: string): SrtCallerChange | null {
    if (line.includes('Accepted SRT source connection')) {
      this.current = this.concluded ?? this.lastRequest;
      this.concluded = null;
      this.connected = true;
      return 'accepted';
    }
    if (line.includes('SRT source disconnected')) {
      this.reset();
      return 'disconnected';
    }
    const from = parseSrtRequestAddress(line);
    if (from !== null) this.lastRequest = from;
    else if (CONCLUDED.test(line)) {
      if (!this.connected) this.concluded = this.lastRequest;
      // A conclusion logged after the accept is this caller's (on a busy machine the whole
      // handshake can be printed after the accept); kept, it would name the next one.
      else if (this.current === null) this.current = this.lastRequest;
    }
    return null;
  }

  /** A fresh `srt-live-transmit` serves nobody yet. */
  reset(): void {
    this.lastRequest = null;
    this.concluded = null;
    this.current = null;
    this.connected = false;
  }
}
