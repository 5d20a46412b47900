import { describe, expect, it } from 'vitest';
import { codeForStatus, ENGINE_HTTP_ERRORS } from '../../src/server/errors.js';

describe('the engine HTTP error table', () => {
  it('gives every code an error status', () => {
    for (const [code, status] of Object.entries(ENGINE_HTTP_ERRORS)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
  });

  it('names the statuses fastify raises by itself, and no app-specific code for them', () => {
    expect(codeForStatus(400)).toBe('invalid_request');
    expect(codeForStatus(413)).toBe('payload_too_large');
    expect(codeForStatus(415)).toBe('unsupported_media_type');
    expect(codeForStatus(409)).toBe('invalid_request');
    expect(codeForStatus(405)).toBe('invalid_request');
    expect(codeForStatus(500)).toBe('internal_error');
    expect(codeForStatus(504)).toBe('internal_error');
  });
});
