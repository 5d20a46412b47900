import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../src/http/openapi.js';

describe('OpenAPI document', () => {
  it('lists, on every operation, the errors any route may answer before it runs', () => {
    const doc = buildOpenApi() as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>;
    };
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ at: `${method} ${path}`, responses: op.responses })),
    );
    expect(ops.length).toBeGreaterThan(5);
    for (const { at, responses } of ops)
      for (const code of ['408', '431', '503'])
        expect(responses[code]?.content, `${at} ${code}`).toBeDefined();
  });

  it('keeps a route-specific description over the generic one', () => {
    const doc = buildOpenApi() as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    expect(doc.paths['/api/v1/relay/manifest']?.get?.responses['503']?.description).toBe('no region');
  });
});
