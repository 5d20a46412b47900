import { z } from 'zod';
import { dockAutomationFlagSchema, dockModeSchema } from './dock-state.js';
import {
  obsConnectionFormSchema,
  outputFormSchema,
  sceneRolesFormSchema,
  settingsFormSchema,
  thresholdsFormSchema,
} from './settings.js';

/**
 * Actions the dock sends to the engine. Each carries an `action_id`
 * chosen by the dock so it can match the results: `accepted` (work started), `rejected` (with a
 * human reason, and per-field reasons for forms) or `completed` (e.g. OBS confirmed the switch).
 */

export const dockActionIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'action_id: letters, digits and _ . : - only');

const act = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), action_id: dockActionIdSchema, ...shape }).strict();

export const dockActionSchema = z.discriminatedUnion('type', [
  act('set_mode', { mode: dockModeSchema }),
  act('switch_scene', { scene: z.string().min(1).max(256) }),
  act('set_setting', { key: dockAutomationFlagSchema, value: z.boolean() }),
  act('relay_start', { region: z.string().min(1).max(64).optional() }),
  act('relay_stop', {}),
  act('reveal_pairing', { reveal: z.boolean().default(true) }),
  act('set_thresholds', { thresholds: thresholdsFormSchema }),
  act('set_scene_roles', { roles: sceneRolesFormSchema }),
  act('set_output_config', { output: outputFormSchema }),
  act('fix_media_sources', {}),
  act('ack_event', { event_id: z.number().int().min(0) }),
  /** The password (when given) goes to the vault, never to the config file. */
  act('set_obs_connection', { obs: obsConnectionFormSchema }),
  /** The whole settings page at once: validated in full, then written atomically, or nothing. */
  act('save_settings', { settings: settingsFormSchema }),
]);

export type DockAction = z.infer<typeof dockActionSchema>;
export type DockActionInput = z.input<typeof dockActionSchema>;
export type DockActionType = DockAction['type'];
export const DOCK_ACTION_TYPES = dockActionSchema.options.map((o) => o.shape.type.value) as DockActionType[];

export const dockActionStatusSchema = z.enum(['accepted', 'rejected', 'completed']);

export const dockActionResultSchema = z.object({
  /** null when the message was too malformed to carry one. */
  action_id: z.string().nullable(),
  action: z.string().nullable(),
  status: dockActionStatusSchema,
  reason: z.string().max(2000).optional(),
  /** Per-field reasons for form actions, keyed by dotted path inside the action's payload. */
  field_errors: z.record(z.string(), z.string()).optional(),
});

export type DockActionStatus = z.infer<typeof dockActionStatusSchema>;
export type DockActionResult = z.infer<typeof dockActionResultSchema>;
