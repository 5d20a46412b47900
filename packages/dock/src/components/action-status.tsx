import type { DockActionInput } from '@telemy/protocol/dock';
import { useState } from 'preact/hooks';
import type { ActionProgress } from '../connection.js';
import { useConnection } from '../context.js';

type ActionBody = DockActionInput extends infer T
  ? T extends unknown
    ? Omit<T, 'action_id'>
    : never
  : never;

/** Sends actions and follows the latest one's result, for panels that show what became of a click. */
export function useAction(): [(a: ActionBody) => void, ActionProgress | undefined] {
  const [conn, snap] = useConnection();
  const [id, setId] = useState<string | null>(null);
  return [(a) => setId(conn.send(a)), id ? snap.results.get(id) : undefined];
}

const WORDS: Record<ActionProgress['status'], string> = {
  sent: '◌ sent…',
  accepted: '◌ in progress…',
  completed: '✔ done',
  rejected: '✖ refused',
};

export function ActionStatus({ result, what }: { result: ActionProgress | undefined; what: string }) {
  return (
    <p class="action-status" role="status" aria-live="polite">
      {result
        ? `${what}: ${WORDS[result.status]}${result.status === 'rejected' && result.reason ? ` — ${result.reason}` : ''}`
        : ''}
    </p>
  );
}
