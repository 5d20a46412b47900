import { z } from 'zod';
import { dockActionResultSchema, dockActionSchema } from './actions.js';
import { dockStateSchema } from './dock-state.js';

/**
 * The dock WebSocket (`GET /ws?token=…`) carries JSON text frames.
 * Server → client: the full state, action results, and a lifecycle notice sent just before the
 * engine goes away (so the dock can say "restarting" instead of "not running").
 * Client → server: actions.
 */

export const DOCK_WS_PATH = '/ws';
export const DOCK_TOKEN_PARAM = 'token';

export const dockLifecycleSchema = z.object({
  type: z.literal('lifecycle'),
  phase: z.enum(['restarting', 'stopping', 'failed']),
  detail: z.string().max(2000).nullable(),
});

export const dockServerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), state: dockStateSchema }),
  dockActionResultSchema.extend({ type: z.literal('action_result') }),
  dockLifecycleSchema,
]);

export const dockClientMessageSchema = z.object({ type: z.literal('action'), action: dockActionSchema });

export type DockServerMessage = z.infer<typeof dockServerMessageSchema>;
export type DockClientMessage = z.infer<typeof dockClientMessageSchema>;
export type DockLifecycle = z.infer<typeof dockLifecycleSchema>;
