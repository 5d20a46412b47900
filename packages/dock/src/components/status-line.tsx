import type { DockStatus } from '@telemy/protocol/dock';
import { clock } from '../format.js';
import type { Tone } from './ui.js';

const LEVEL: Record<DockStatus['level'], [Tone, string, string]> = {
  ok: ['ok', '✔', 'OK'],
  info: ['info', 'ℹ', 'Note'],
  warn: ['warn', '▲', 'Warning'],
  bad: ['bad', '✖', 'Problem'],
};

/**
 * The engine's one-line summary of what is on air and why, above everything else. It always takes
 * two lines, so the panels below do not jump as the text changes; a longer text is cut, and the
 * tooltip has it whole.
 */
export function StatusLine({ status }: { status: DockStatus }) {
  const [tone, icon, word] = LEVEL[status.level];
  const since = status.since_ms === null ? '' : ` (since ${clock(status.since_ms)})`;
  return (
    <div
      class={`status-line tone-${tone}`}
      role="status"
      aria-live="polite"
      data-testid="status-line"
      data-level={status.level}
      title={status.text + since}
    >
      <p class="status-text">
        <span aria-hidden="true">{icon}</span> <span class="sr-only">{word}: </span>
        {status.text}
      </p>
    </div>
  );
}
