import type { FastifyPluginAsync, FastifyPluginOptions } from 'fastify';

/**
 * A plugin whose hooks, handlers and decorators apply to the app that registers it rather than to
 * a scope of its own (fastify's `skip-override`, which is all fastify-plugin adds): the error
 * handler, the request hooks and the request decorations serve every route.
 */
export function appWide<O extends FastifyPluginOptions>(
  plugin: FastifyPluginAsync<O>,
): FastifyPluginAsync<O> {
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}
