import http from 'node:http';
import https from 'node:https';

/** What the control-plane client reads of a response (a global `Response` has all of it). */
export interface FetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<FetchResponse>;

/**
 * The control-plane client's `fetch`, over node:http(s), which the engine has loaded anyway (its
 * server). The global `fetch` loads undici on its first call: in the engine, that is at the first IRL
 * start, and it costs ~110 ms of compiling on the event loop and ~17 MB for good (twice that while
 * it loads). Supports what the client sends: a method, string headers, a string body, a signal.
 */
export function httpFetch(url: string, init: RequestInit): Promise<FetchResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? https.request : http.request;
    const req = request(
      target,
      {
        method: init.method ?? 'GET',
        headers: init.headers as Record<string, string> | undefined,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: {
              get: (name) => {
                const v = res.headers[name.toLowerCase()];
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
              },
            },
            text: async () => body,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}
