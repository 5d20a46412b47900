import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import { type DockSocket, registerDockSocket } from '@telemy/engine';
import { type DockAction, type DockActionResult, type DockState, dockStateSchema } from '@telemy/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import { dockDistDir } from '../../src/paths.js';
import { fakeDockState } from './fake-state.js';

/**
 * A stand-in for the engine's dashboard server: serves the built dock and a DockState over the real
 * dock socket handler, with the state and the action handler under the test's control.
 */

/**
 * Stricter than the engine's policy (no inline styles at all), so a test run proves the dock needs no
 * CSP exceptions.
 */
export const STRICT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** Every state a test pushes must be one the real engine could send; a wrong one fails the test here. */
function valid(state: DockState): DockState {
  dockStateSchema.parse(state);
  return state;
}

export type ActionHandler = (
  action: DockAction,
  progress: (r: DockActionResult) => void,
) => Promise<DockActionResult>;

export interface FakeEngine {
  port: number;
  token: string;
  dockUrl(hash?: string): string;
  state(): DockState;
  setState(next: DockState): void;
  update(change: (s: DockState) => void): void;
  actions: DockAction[];
  setHandler(h: ActionHandler): void;
  dock(): DockSocket;
  /** Stops serving (the page sees the engine go away). */
  stop(): Promise<void>;
  /** Serves again on the same port with the current state. */
  restart(): Promise<void>;
}

export async function startFakeEngine(
  opts: { token?: string; port?: number; state?: DockState } = {},
): Promise<FakeEngine> {
  const token = opts.token ?? 'test-token';
  let current = valid(opts.state ?? fakeDockState());
  const actions: DockAction[] = [];
  let handler: ActionHandler = async (a) => ({ action_id: a.action_id, action: a.type, status: 'completed' });
  let app: FastifyInstance | null = null;
  let socket: DockSocket | null = null;
  let port = opts.port ?? 0;

  const listen = async () => {
    const server = Fastify();
    server.addHook('onRequest', async (_req, reply) => {
      reply.header('Content-Security-Policy', STRICT_CSP);
    });
    await server.register(fastifyWebsocket);
    await server.register(fastifyStatic, { root: dockDistDir, index: 'index.html' });
    socket = registerDockSocket(server, {
      authorize: (req) => (req.query as { token?: string }).token === token,
      getState: () => current,
      onAction: (a, progress) => {
        actions.push(a);
        return handler(a, progress);
      },
      pushIntervalMs: 1000,
    });
    await server.listen({ host: '127.0.0.1', port });
    const addr = server.server.address();
    if (!addr || typeof addr === 'string') throw new Error('fake engine has no address');
    port = addr.port;
    app = server;
  };
  await listen();

  return {
    get port() {
      return port;
    },
    token,
    dockUrl: (hash = '#/') => `http://127.0.0.1:${port}/?token=${token}${hash}`,
    state: () => current,
    setState(next) {
      current = valid(next);
      socket?.notify();
    },
    update(change) {
      const next = structuredClone(current);
      change(next);
      current = valid(next);
      socket?.notify();
    },
    actions,
    setHandler(h) {
      handler = h;
    },
    dock() {
      if (!socket) throw new Error('fake engine stopped');
      return socket;
    },
    async stop() {
      const a = app;
      app = null;
      socket = null;
      await a?.close();
    },
    async restart() {
      if (!app) await listen();
    },
  };
}
