import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ANSWER_TIMEOUTS, EngineRelayApi } from '../src/commands/cloud.js';
import { engineOriginFromNote, startLockNote } from '../src/context.js';
import { READY_TIMEOUT_MS } from '../src/embedded-cloud.js';

const servers: http.Server[] = [];

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('telemy cloud talking to the running engine', () => {
  it('says the engine is busy, not missing, when it does not answer in time', async () => {
    const base = await serve(() => {
      // Accepts the request and never answers: an engine busy starting the control plane.
    });
    await expect(new EngineRelayApi(base, 't', { startMs: 200, otherMs: 200 }).start()).rejects.toThrow(
      /did not answer within 0\.2 s; it is running but busy/,
    );
  });

  it('waits for a start longer than the engine waits for its embedded control plane', () => {
    expect(ANSWER_TIMEOUTS.startMs).toBeGreaterThan(READY_TIMEOUT_MS);
  });

  it('says Telemy is not running when nothing listens', async () => {
    const base = await serve(() => {});
    const [server] = servers.splice(0);
    await new Promise((r) => server?.close(r));
    await expect(new EngineRelayApi(base, 't', { startMs: 200, otherMs: 200 }).active(false)).rejects.toThrow(
      /Telemy is not running at/,
    );
  });

  it('passes the engine error message through', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'cloud_disabled', message: 'the cloud is off' } }));
    });
    await expect(new EngineRelayApi(base, 't', { startMs: 1_000, otherMs: 1_000 }).stop()).rejects.toThrow(
      'the cloud is off',
    );
  });
});

describe("the engine's address from its start lock", () => {
  it('reads back the origin the engine wrote', () => {
    expect(engineOriginFromNote(startLockNote('http://127.0.0.1:17391/'))).toBe('http://127.0.0.1:17391');
  });

  it('is null for a lock without a readable note', () => {
    expect(engineOriginFromNote(null)).toBeNull();
    expect(engineOriginFromNote('dashboard not-a-url')).toBeNull();
    expect(engineOriginFromNote('something else')).toBeNull();
  });
});
