import type { WebSocket } from '@fastify/websocket';
import {
  DOCK_WS_PATH,
  type DockAction,
  type DockActionResult,
  type DockLifecycle,
  type DockState,
  dockClientMessageSchema,
  type Logger,
  settingsFieldErrors,
} from '@telemy/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './server.js';

/**
 * The dock's WebSocket (`GET /ws`): pushes `{type:'state'}` to every connected dock when the engine
 * calls `notify()` and at least every `pushIntervalMs`, skipping pushes identical to the last one;
 * answers `{type:'action'}` messages with `{type:'action_result'}`. A malformed message gets a
 * `rejected` result and the connection stays up.
 */

export interface DockSocketOptions {
  /** Decides whether the upgrade request may connect (token, Host, Origin): false → 401. */
  authorize: (request: FastifyRequest) => boolean | Promise<boolean>;
  getState: () => DockState;
  /**
   * Handles one validated action and resolves with its final result. Long actions (a scene switch
   * that completes when OBS confirms) call `progress` with `accepted` first.
   */
  onAction: (action: DockAction, progress: (result: DockActionResult) => void) => Promise<DockActionResult>;
  logger?: Logger;
  pushIntervalMs?: number;
  path?: string;
  /** A client whose unsent data exceeds this is dropped rather than buffered without end. */
  maxBufferedBytes?: number;
  /** WebSocket ping period; a client that has not answered the previous ping is dropped. */
  pingIntervalMs?: number;
}

export interface DockSocket {
  /** The engine's state changed: push it now (coalesced with other calls in the same tick). */
  notify(): void;
  /** Tell every dock the engine is going away and why, before it closes. */
  lifecycle(phase: DockLifecycle['phase'], detail: string | null): void;
  clientCount(): number;
}

const MAX_MESSAGE_BYTES = 256 * 1024;

export function registerDockSocket(app: FastifyInstance, opts: DockSocketOptions): DockSocket {
  const clients = new Set<WebSocket>();
  const pushIntervalMs = opts.pushIntervalMs ?? 1000;
  const maxBuffered = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  let lastFrame: string | null = null;
  let notifyQueued = false;

  const stateFrame = (): string | null => {
    try {
      return JSON.stringify({ type: 'state', state: opts.getState() });
    } catch (err) {
      opts.logger?.error({ err }, 'dock state could not be built');
      return null;
    }
  };

  const send = (ws: WebSocket, frame: string) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > maxBuffered) {
      opts.logger?.warn('dock client too slow to keep up; disconnecting it');
      ws.terminate();
      return;
    }
    ws.send(frame);
  };

  const push = () => {
    if (clients.size === 0) {
      lastFrame = null;
      return;
    }
    const frame = stateFrame();
    if (frame === null || frame === lastFrame) return;
    lastFrame = frame;
    for (const ws of clients) send(ws, frame);
  };

  const timer = setInterval(push, pushIntervalMs);
  timer.unref();

  // A dock whose network vanished (laptop lid closed, phone out of Wi-Fi) never sends a close frame.
  const alive = new WeakMap<WebSocket, boolean>();
  const pinger = setInterval(() => {
    for (const ws of clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        clients.delete(ws);
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.pingIntervalMs ?? 15_000);
  pinger.unref();

  app.addHook('onClose', async () => {
    clearInterval(timer);
    clearInterval(pinger);
    for (const ws of clients) ws.close(1001, 'server closing');
    clients.clear();
  });

  const reply = (ws: WebSocket, result: DockActionResult) =>
    send(ws, JSON.stringify({ type: 'action_result', ...result }));

  const handleMessage = async (ws: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary || raw.length > MAX_MESSAGE_BYTES) {
      reply(ws, rejected(null, null, 'messages must be JSON text under 256 KiB'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      reply(ws, rejected(null, null, 'message is not valid JSON'));
      return;
    }
    const { actionId, actionType } = peekIds(parsed);
    const checked = dockClientMessageSchema.safeParse(parsed);
    if (!checked.success) {
      const errors = settingsFieldErrors(checked.error);
      const fields = Object.fromEntries(
        Object.entries(errors)
          .filter(([k]) => k.startsWith('action.'))
          .map(([k, v]) => [k.slice('action.'.length), v]),
      );
      const first = Object.entries(errors)[0];
      const reason = first
        ? `invalid ${actionType ?? 'message'}: ${first[0]} ${first[1]}`
        : 'invalid message';
      reply(ws, { ...rejected(actionId, actionType, reason), field_errors: fields });
      return;
    }
    const action = checked.data.action;
    try {
      const result = await opts.onAction(action, (r) => reply(ws, r));
      reply(ws, result);
    } catch (err) {
      opts.logger?.error({ err, action: action.type, action_id: action.action_id }, 'dock action failed');
      reply(ws, rejected(action.action_id, action.type, `the engine could not carry out ${action.type}`));
    }
  };

  app.route({
    method: 'GET',
    url: opts.path ?? DOCK_WS_PATH,
    preValidation: async (request, res) => {
      if (!(await opts.authorize(request))) {
        await sendError(res, 'unauthorized', 'not allowed to open the dock socket');
      }
    },
    // A plain GET (no upgrade) gets the engine's envelope, not the plugin's empty 404.
    handler: (_request, res) =>
      sendError(res, 'upgrade_required', 'the dock socket takes WebSocket connections only'),
    wsHandler: (socket: WebSocket) => {
      clients.add(socket);
      alive.set(socket, true);
      socket.on('pong', () => alive.set(socket, true));
      socket.on('close', () => clients.delete(socket));
      socket.on('error', (err) => opts.logger?.warn({ err }, 'dock socket error'));
      socket.on('message', (data, isBinary) => {
        void handleMessage(socket, data, isBinary);
      });
      const frame = lastFrame ?? stateFrame();
      if (frame !== null) {
        if (lastFrame === null) lastFrame = frame;
        send(socket, frame);
      }
    },
  });

  return {
    notify() {
      if (notifyQueued) return;
      notifyQueued = true;
      queueMicrotask(() => {
        notifyQueued = false;
        push();
      });
    },
    lifecycle(phase, detail) {
      const frame = JSON.stringify({ type: 'lifecycle', phase, detail });
      for (const ws of clients) send(ws, frame);
    },
    clientCount: () => clients.size,
  };
}

function rejected(actionId: string | null, action: string | null, reason: string): DockActionResult {
  return { action_id: actionId, action, status: 'rejected', reason };
}

/** Best effort: echo the id and type of a malformed action so the dock can match the rejection. */
function peekIds(msg: unknown): { actionId: string | null; actionType: string | null } {
  const a = typeof msg === 'object' && msg !== null ? (msg as { action?: unknown }).action : undefined;
  if (typeof a !== 'object' || a === null) return { actionId: null, actionType: null };
  const { action_id, type } = a as { action_id?: unknown; type?: unknown };
  const short = (v: unknown) => (typeof v === 'string' && v.length <= 64 ? v : null);
  return { actionId: short(action_id), actionType: short(type) };
}
