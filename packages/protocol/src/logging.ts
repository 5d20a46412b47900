import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Field names that may carry a secret anywhere in a log object. pino replaces their values with
 * "[redacted]" before anything is written, so a careless `log.info({ config })` cannot leak.
 */
export const SECRET_FIELDS = [
  'password',
  'token',
  'secret',
  'api_key',
  'apiKey',
  'authorization',
  'Authorization',
  'pair_token',
  'relay_ws_token',
  'cp_access_jwt',
  'jwt',
  'credential',
  'passphrase',
  'value',
  'key_material',
  'access_token',
  'stream_key',
] as const;

const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `headers.${f.toLowerCase()}`]);

/**
 * What a log line keeps of an error: its type, words, code and stack, and its cause's. Never its
 * other properties: an HTTP client's error can carry the request, headers and all, deeper than the
 * redaction paths reach.
 */
export function serializeError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  return {
    type: e.name,
    message: e.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    stack: e.stack,
    ...(e.cause !== undefined ? { cause: serializeError(e.cause) } : {}),
  };
}

export interface CreateLoggerOptions {
  level?: string;
  /** Defaults to stdout; tests pass a stream to capture output. */
  destination?: DestinationStream;
}

export function createLogger(name: string, opts: CreateLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    name,
    level: opts.level ?? process.env.TELEMY_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** Masks a token for the rare log line that must identify one: keeps 4 leading characters. */
export function maskSecret(s: string | null | undefined): string {
  if (!s) return '';
  return s.length <= 8 ? '****' : `${s.slice(0, 4)}…(${s.length})`;
}

export type { Logger };
