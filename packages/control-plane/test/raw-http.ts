import net from 'node:net';
import { ApiErrorBody } from '@telemy/protocol';
import { expect } from 'vitest';

export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/** Parses the first complete HTTP/1.1 response in `data` (Content-Length framing), or null. */
export function parseResponse(data: string): RawResponse | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = Buffer.from(data.slice(end + 4), 'latin1');
  if (body.length < length) return null;
  return {
    status: Number(statusLine?.split(' ')[1]),
    headers,
    body: body.subarray(0, length).toString('utf8'),
  };
}

/** A client on a bare TCP socket: writes whatever bytes a test wants, records what comes back. */
export class RawClient {
  data = '';
  closed = false;
  error: string | null = null;
  private readonly openedAt = Date.now();
  closedAfterMs: number | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.data += d;
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error = err.code ?? err.message;
    });
    socket.on('close', () => {
      this.closed = true;
      this.closedAfterMs = Date.now() - this.openedAt;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.data.slice(0, 300))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(s: string | Buffer): void {
    this.socket.write(s);
  }

  /** The first complete response. */
  async response(timeoutMs = 5000): Promise<RawResponse> {
    await this.until(() => parseResponse(this.data) !== null, timeoutMs, 'a response');
    return parseResponse(this.data)!;
  }

  /** Resolves once the server closed the connection (EOF or reset). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.closed, timeoutMs, 'the connection to close');
  }

  /** Writes `bytes` one at a time, `everyMs` apart, until done or the connection closes. */
  async trickle(bytes: string, everyMs: number): Promise<number> {
    let sent = 0;
    for (const ch of bytes) {
      if (this.closed || this.socket.destroyed) break;
      this.socket.write(ch);
      sent++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return sent;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A request sent with its own body on a fresh connection; the response. */
export async function rawRequest(port: number, request: string, timeoutMs = 5000): Promise<RawResponse> {
  const c = await RawClient.connect(port);
  try {
    c.write(request);
    return await c.response(timeoutMs);
  } finally {
    c.destroy();
  }
}

/** The control plane's error envelope with the given status and code, its request id in `x-request-id`. */
export function expectRawEnvelope(res: RawResponse, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = ApiErrorBody.parse(JSON.parse(res.body));
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(res.headers['x-request-id']).toBe(body.error.request_id);
  return body.error;
}
