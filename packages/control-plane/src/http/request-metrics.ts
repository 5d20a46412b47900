import type { ControlPlaneMetrics } from '../metrics.js';
import { appWide } from './plugin.js';

/** Every answer carries its request id and is counted and timed by route. */
export const requestMetrics = appWide<{ metrics: ControlPlaneMetrics }>(async (app, { metrics }) => {
  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });
});
