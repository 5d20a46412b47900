import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../config/atomic-write.js';

/**
 * What the engine keeps across restarts: the relay session it was serving (so a restart
 * reconnects instead of provisioning) and lifetime counters. A file from a newer Telemy is refused,
 * an older one migrated; a corrupt one is moved aside, never trusted.
 */
export const ENGINE_STATE_VERSION = 1;

const stateSchema = z.object({
  format_version: z.number().int(),
  mode: z.string(),
  relay_session_id: z.string().nullable(),
  counters: z.object({ failovers: z.number().int().min(0), switches: z.number().int().min(0) }),
  saved_at: z.string(),
});
export type PersistedEngineState = z.infer<typeof stateSchema>;

export function emptyEngineState(): PersistedEngineState {
  return {
    format_version: ENGINE_STATE_VERSION,
    mode: 'STUDIO',
    relay_session_id: null,
    counters: { failovers: 0, switches: 0 },
    saved_at: new Date(0).toISOString(),
  };
}

export class EngineStateFile {
  readonly file: string;
  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'engine-state.json');
  }

  /** Returns the saved state, or an empty one (with the reason) when there is none or it is unusable. */
  load(): { state: PersistedEngineState; note: string | null } {
    if (!existsSync(this.file)) return { state: emptyEngineState(), note: null };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return { state: emptyEngineState(), note: `${this.file} is not JSON; starting fresh` };
    }
    const version = (raw as { format_version?: unknown }).format_version;
    if (typeof version === 'number' && version > ENGINE_STATE_VERSION) {
      throw new Error(
        `${this.file} has format_version ${version}, written by a newer Telemy; upgrade Telemy or move the file away`,
      );
    }
    const parsed = stateSchema.safeParse(raw);
    if (!parsed.success)
      return { state: emptyEngineState(), note: `${this.file} has an unexpected structure; starting fresh` };
    return { state: parsed.data, note: null };
  }

  save(state: Omit<PersistedEngineState, 'format_version' | 'saved_at'>): void {
    const full: PersistedEngineState = {
      ...state,
      format_version: ENGINE_STATE_VERSION,
      saved_at: new Date().toISOString(),
    };
    writeFileAtomic(this.file, `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
  }
}
