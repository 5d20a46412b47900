/**
 * Every error the engine's HTTP server answers, as a code and its status: the one table routes,
 * hooks, the fastify error handler and the bare-socket answers all take statuses from. The body is
 * always `{error: {code, message, request_id}}`.
 */
export const ENGINE_HTTP_ERRORS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden_origin: 403,
  not_found: 404,
  request_timeout: 408,
  blocked_by_guard: 409,
  cloud_off: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  misdirected_request: 421,
  switch_failed: 422,
  not_saved: 422,
  relay_start_refused: 422,
  upgrade_required: 426,
  headers_too_large: 431,
  internal_error: 500,
  relay_stop_failed: 502,
  shutting_down: 503,
} as const satisfies Record<string, number>;

export type EngineErrorCode = keyof typeof ENGINE_HTTP_ERRORS;

/** The codes of the statuses fastify and its plugins raise by themselves. */
const FRAMEWORK_CODES: Partial<Record<number, EngineErrorCode>> = {
  400: 'invalid_request',
  404: 'not_found',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
};

/** The code for a status fastify raised: any other client error is `invalid_request`. */
export function codeForStatus(status: number): EngineErrorCode {
  if (status >= 500) return 'internal_error';
  return FRAMEWORK_CODES[status] ?? 'invalid_request';
}
