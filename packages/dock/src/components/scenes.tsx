import type { DockScenes } from '@telemy/protocol/dock';
import { useState } from 'preact/hooks';
import { useConnection } from '../context.js';
import { Badge, Muted, Panel } from './ui.js';

const RESULT_TEXT = {
  sent: 'pending…',
  accepted: 'pending…',
  completed: 'completed ✔',
  rejected: 'rejected',
} as const;

export function ScenesPanel({ scenes }: { scenes: DockScenes }) {
  const [conn, snap] = useConnection();
  const [last, setLast] = useState<{ id: string; scene: string } | null>(null);
  const result = last ? snap.results.get(last.id) : undefined;
  const localPending =
    last && result && (result.status === 'sent' || result.status === 'accepted') ? last.scene : null;
  const roleOf = (s: string) =>
    (Object.entries(scenes.roles) as [string, string][]).find(([, v]) => v === s)?.[0]?.toUpperCase() ?? null;

  return (
    <Panel
      id="scenes"
      title="Scenes"
      extra={
        <Badge tone={scenes.automation_armed ? 'ok' : 'warn'} icon={scenes.automation_armed ? '⚙' : '‖'}>
          {scenes.automation_armed ? 'automation armed' : 'automation off'}
        </Badge>
      }
    >
      {!scenes.available && <Muted>OBS is not connected; showing the last known scenes.</Muted>}
      {scenes.list.length === 0 ? (
        <Muted>No scenes.</Muted>
      ) : (
        <ul class="scene-list">
          {scenes.list.map((s) => {
            const active = s === scenes.active;
            const pending = scenes.pending?.scene === s || localPending === s;
            const role = roleOf(s);
            return (
              <li key={s}>
                <button
                  type="button"
                  class={`scene${active ? ' is-active' : ''}${pending ? ' is-pending' : ''}`}
                  data-scene={s}
                  aria-pressed={active}
                  disabled={!scenes.available}
                  onClick={() => {
                    if (active) return;
                    setLast({ id: conn.send({ type: 'switch_scene', scene: s }), scene: s });
                  }}
                >
                  <span class="scene-name">{s}</span>
                  <span class="scene-tags">
                    {role && role !== s.toUpperCase() && <span class="tag">{role}</span>}
                    {active && <span class="tag tag-onair">● ON AIR</span>}
                    {pending && !active && <span class="tag tag-pending">◌ pending</span>}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <p class="switch-result" data-testid="switch-result" aria-live="polite">
        {last && result
          ? `Switch to ${last.scene}: ${RESULT_TEXT[result.status]}${result.reason && result.status === 'rejected' ? ` — ${result.reason}` : ''}`
          : ' '}
      </p>
    </Panel>
  );
}
