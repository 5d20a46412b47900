import { z } from 'zod';

/**
 * Between the engine and its embedded control plane, a child process (`telemy control-plane
 * --embedded`). The engine writes `EmbeddedInit` as the first line of the child's stdin: the secrets
 * stay in the engine's vault and reach the child only through that pipe, never on its command line
 * (any local user can read those) nor in its environment (the relays it starts inherit that). The
 * child answers on stdout with one `EmbeddedReport` line: `ready` once it serves, with its URL, or
 * `failed` with why it could not start.
 */
export const EmbeddedInit = z.strictObject({
  /** HS256 key of the control plane's access tokens (vault `embedded_jwt_secret`). */
  jwt_secret: z.string().min(32),
  /** The engine's API key (vault `cloud.api_key_key`); the child registers its hash for the local user. */
  api_key: z.string().min(1).max(200),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
});
export type EmbeddedInit = z.infer<typeof EmbeddedInit>;

export const EmbeddedReport = z.union([
  z.strictObject({ ready: z.url() }),
  z.strictObject({ failed: z.string() }),
]);
export type EmbeddedReport = z.infer<typeof EmbeddedReport>;
