import { createLogger } from '@telemy/protocol';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { hs256Config } from '../../src/auth/jwt.js';
import type { Db } from '../../src/db/types.js';
import { type ControlPlaneApp, createControlPlane } from '../../src/http/app.js';
import { FakeRelayProvider } from '../../src/providers/fake.js';

interface Doc {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { description: string; content?: unknown }> }>
  >;
}

/** Building the document touches no database. */
const noDatabase = { kind: 'pglite' } as unknown as Db;

let app: ControlPlaneApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function controlPlane(
  extraRoutes: (app: FastifyInstance) => void = () => {},
): Promise<ControlPlaneApp> {
  app = await createControlPlane({
    db: noDatabase,
    provider: new FakeRelayProvider(),
    jwt: hs256Config('openapi-test-secret-0123456789abcdef'),
    userCache: false,
    logger: createLogger('openapi-test', { level: 'silent' }),
  });
  extraRoutes(app);
  await app.ready();
  return app;
}

async function documentOf(app: ControlPlaneApp): Promise<Doc> {
  return (await app.inject('/api/v1/openapi.json')).json() as Doc;
}

/**
 * What fastify itself serves, read from its route tree (`printRoutes`), as "METHOD /path"; the HEAD
 * fastify adds to every GET is the GET's.
 */
function servedRoutes(app: FastifyInstance): string[] {
  return app
    .printRoutes({ commonPrefix: false })
    .split('\n')
    .flatMap((line) => {
      const m = /(\/\S*) \(([A-Z, ]+)\)/.exec(line);
      if (!m) return [];
      return (m[2] as string)
        .split(', ')
        .filter((method) => method !== 'HEAD')
        .map((method) => `${method} ${m[1]}`);
    });
}

function undocumented(app: FastifyInstance, doc: Doc): string[] {
  return servedRoutes(app).filter((route) => {
    const [method, path] = route.split(' ') as [string, string];
    return doc.paths[path]?.[method.toLowerCase()] === undefined;
  });
}

describe('OpenAPI document', () => {
  it('lists every route the server serves', async () => {
    const cp = await controlPlane();
    const served = servedRoutes(cp);
    expect(served).toEqual(expect.arrayContaining(['POST /api/v1/relay/start', 'GET /api/v1/usage/current']));
    expect(served.length).toBeGreaterThan(8);
    expect(undocumented(cp, await documentOf(cp))).toEqual([]);
  });

  it('a route served but left out of the document is caught', async () => {
    const cp = await controlPlane((app) => {
      app.get('/api/v1/undocumented', { schema: { hide: true } }, async () => ({}));
    });
    expect(undocumented(cp, await documentOf(cp))).toEqual(['GET /api/v1/undocumented']);
  });

  it('lists, on every operation, the errors any route may answer before it runs', async () => {
    const doc = await documentOf(await controlPlane());
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ at: `${method} ${path}`, responses: op.responses })),
    );
    for (const { at, responses } of ops)
      for (const code of ['408', '431', '503'])
        expect(responses[code]?.content, `${at} ${code}`).toBeDefined();
  });

  it('keeps a route-specific description over the generic one, and no body where there is none', async () => {
    const doc = await documentOf(await controlPlane());
    expect(doc.paths['/api/v1/relay/manifest']?.get?.responses['503']?.description).toBe('no region');
    const noSession = doc.paths['/api/v1/relay/active']?.get?.responses['204'];
    expect(noSession).toEqual({ description: 'no live session' });
  });
});
