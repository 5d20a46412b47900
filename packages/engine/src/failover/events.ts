/**
 * One entry of the engine's event history: what the dock's event list, chat announcements and the
 * structured log share. `at_ms`/`request_id` match the dock's `DockEvent` so it maps one to one.
 */
export type EventLevel = 'info' | 'warn' | 'error';

export interface FailoverEvent {
  id: number;
  at_ms: number;
  level: EventLevel;
  /** Machine-readable kind, e.g. `mode_transition`, `intent`, `guard_rejected`, `switch_result`. */
  kind: string;
  /** One human line, no secrets. */
  text: string;
  request_id: string | null;
  /** Structured details (rule, intent, reason, latency_ms, result, from, to, …). */
  data: Record<string, unknown>;
}

/**
 * An event as `decide()` emits it; the controller stamps the id and time. A `quiet` event goes to
 * the structured log only, not to the event history the dock shows (a switch is one entry there).
 */
export type DraftEvent = Omit<FailoverEvent, 'id' | 'at_ms' | 'request_id' | 'data'> & {
  request_id?: string | null;
  data?: Record<string, unknown>;
  quiet?: boolean;
};

export const EVENT_HISTORY_SIZE = 200;

/** The last `capacity` events, oldest first. */
export class EventHistory {
  private readonly items: FailoverEvent[] = [];
  private nextId = 1;

  constructor(private readonly capacity = EVENT_HISTORY_SIZE) {}

  push(at_ms: number, draft: DraftEvent): FailoverEvent {
    const event: FailoverEvent = {
      id: this.nextId++,
      at_ms,
      level: draft.level,
      kind: draft.kind,
      text: draft.text,
      request_id: draft.request_id ?? null,
      data: draft.data ?? {},
    };
    this.items.push(event);
    if (this.items.length > this.capacity) this.items.shift();
    return event;
  }

  list(): FailoverEvent[] {
    return [...this.items];
  }
}
