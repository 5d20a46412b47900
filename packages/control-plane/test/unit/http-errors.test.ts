import { ApiErrorBody } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_LIMITS, parseHttpLimits } from '../../src/config.js';
import { rawErrorResponse, STATUS_OF } from '../../src/errors.js';
import { parseResponse } from '../raw-http.js';

describe('parseHttpLimits', () => {
  it('defaults: body 10 s, headers 60 s, 64 connections per address', () => {
    expect(parseHttpLimits({})).toEqual(DEFAULT_HTTP_LIMITS);
    expect(DEFAULT_HTTP_LIMITS).toEqual({
      bodyTimeoutMs: 10_000,
      headersTimeoutMs: 60_000,
      maxConnectionsPerAddress: 64,
    });
  });

  it('reads the variables, 0 turns the connection limit off, nonsense is refused', () => {
    expect(
      parseHttpLimits({
        TELEMY_CP_BODY_TIMEOUT_SECONDS: '5',
        TELEMY_CP_HEADERS_TIMEOUT_SECONDS: '20',
        TELEMY_CP_MAX_CONNECTIONS_PER_IP: '0',
      }),
    ).toEqual({ bodyTimeoutMs: 5000, headersTimeoutMs: 20_000, maxConnectionsPerAddress: 0 });
    expect(() => parseHttpLimits({ TELEMY_CP_BODY_TIMEOUT_SECONDS: '0' })).toThrow(
      /TELEMY_CP_BODY_TIMEOUT_SECONDS/,
    );
    expect(() => parseHttpLimits({ TELEMY_CP_MAX_CONNECTIONS_PER_IP: 'lots' })).toThrow(
      /TELEMY_CP_MAX_CONNECTIONS_PER_IP/,
    );
    expect(() => parseHttpLimits({ TELEMY_CP_HEADERS_TIMEOUT_SECONDS: '1.5' })).toThrow();
  });
});

describe('rawErrorResponse', () => {
  it('a whole HTTP/1.1 response: the status of the code, the envelope, its id in x-request-id, then close', () => {
    const text = rawErrorResponse('headers_too_large', 'too big', { limit_bytes: 16_384 });
    expect(text.startsWith('HTTP/1.1 431 Request Header Fields Too Large\r\n')).toBe(true);
    const res = parseResponse(text)!;
    const body = ApiErrorBody.parse(JSON.parse(res.body));
    expect(body.error).toMatchObject({
      code: 'headers_too_large',
      message: 'too big',
      details: { limit_bytes: 16_384 },
    });
    expect(res.headers['x-request-id']).toBe(body.error.request_id);
    expect(res.headers.connection).toBe('close');
    expect(res.headers['retry-after']).toBeUndefined();
    const unavailable = parseResponse(rawErrorResponse('unavailable', 'busy', { retry_after_seconds: 1 }))!;
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('1');
  });

  it('every code has a status', () => {
    expect(STATUS_OF.request_timeout).toBe(408);
    expect(STATUS_OF.headers_too_large).toBe(431);
    for (const s of Object.values(STATUS_OF)) expect(s).toBeGreaterThanOrEqual(400);
  });
});
