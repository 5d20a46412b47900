import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js';

type Write = (...args: unknown[]) => void;

/**
 * A request's logger that makes its pino child (with the request id) on first use. Fastify makes one
 * child per request, and making it runs the secret redaction over the bindings, which costs about as
 * much CPU as the rest of a bare request; our handlers log through the root logger with the request
 * id themselves, so the child is only needed on fastify's own rare warning and error paths.
 */
export class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.opts);
    return this.made;
  }

  get level(): string {
    return this.made?.level ?? this.opts.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  fatal(...args: unknown[]): void {
    (this.real.fatal as Write)(...args);
  }

  error(...args: unknown[]): void {
    (this.real.error as Write)(...args);
  }

  warn(...args: unknown[]): void {
    (this.real.warn as Write)(...args);
  }

  info(...args: unknown[]): void {
    (this.real.info as Write)(...args);
  }

  debug(...args: unknown[]): void {
    (this.real.debug as Write)(...args);
  }

  trace(...args: unknown[]): void {
    (this.real.trace as Write)(...args);
  }

  silent(...args: unknown[]): void {
    (this.real.silent as Write)(...args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}
