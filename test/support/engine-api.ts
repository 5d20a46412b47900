/**
 * The engine's HTTP API as the end-to-end tests call it: the dashboard token on every request, and a
 * POST carries the engine's own Origin, as the dock's page does.
 *
 * ```ts
 * const api = new EngineApi(7200);
 * api.token = token;                          // from the dashboard line
 * const s = await api.get<StateView>('/api/state');
 * await api.post('/api/intent', { intent: 'BRB' });
 * ```
 */

/** One entry of the event log in `/api/state`. */
export interface EngineEvent {
  kind: string;
  text: string;
  at_ms: number;
  request_id: string | null;
  data: Record<string, unknown>;
}

export interface EngineAnswer<T> {
  status: number;
  json: T;
}

export class EngineApi {
  /** `http://127.0.0.1:<port>`, also the Origin of a POST. */
  readonly base: string;
  /** The dashboard token; '' until the engine printed it. */
  token = '';

  constructor(readonly port: number) {
    this.base = `http://127.0.0.1:${port}`;
  }

  /** The Authorization header with the current token. */
  bearer(): { authorization: string } {
    return { authorization: `Bearer ${this.token}` };
  }

  /** GET, or POST with `body` (JSON, or nothing when `body` is null); any status. */
  async request<T>(path: string, body?: unknown): Promise<EngineAnswer<T>> {
    const post = body !== undefined;
    const r = await fetch(`${this.base}${path}`, {
      method: post ? 'POST' : 'GET',
      headers: {
        ...this.bearer(),
        ...(post ? { origin: this.base } : {}),
        ...(post && body !== null ? { 'content-type': 'application/json' } : {}),
      },
      body: post && body !== null ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    try {
      return { status: r.status, json: JSON.parse(text) as T };
    } catch {
      // The shim answers with its own page while the engine is away.
      throw new Error(`${path} → ${r.status}, not JSON: ${text.slice(0, 200)}`);
    }
  }

  /** GET that must answer 200; the JSON body. */
  async get<T>(path: string): Promise<T> {
    return this.ok<T>(path, await this.request<T>(path));
  }

  /** POST of `body` (null: no body) that must answer 200; the JSON body. */
  async post<T>(path: string, body: unknown = null): Promise<T> {
    return this.ok<T>(path, await this.request<T>(path, body));
  }

  /** `/metrics` in Prometheus text, which must answer 200. */
  async metrics(): Promise<string> {
    const r = await fetch(`${this.base}/metrics`, { headers: this.bearer() });
    if (r.status !== 200) throw new Error(`/metrics → ${r.status}`);
    return r.text();
  }

  private ok<T>(path: string, a: EngineAnswer<T>): T {
    if (a.status !== 200) throw new Error(`${path} → ${a.status}: ${JSON.stringify(a.json)}`);
    return a.json;
  }
}
