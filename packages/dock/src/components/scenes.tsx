import type { DockLive, DockScenes } from '@telemy/protocol/dock';
import { useState } from 'preact/hooks';
import { useConnection } from '../context.js';
import { Badge, Muted, Panel, type Tone } from './ui.js';

const AUTOMATION: Record<DockScenes['automation']['state'], [Tone, string]> = {
  armed: ['ok', '⚙'],
  waiting: ['info', '◌'],
  paused: ['warn', '‖'],
  blocked: ['bad', '✖'],
};

function missingText(m: DockScenes['missing'][number]): string {
  const instead = m.stand_in
    ? `'${m.stand_in}' goes on air instead`
    : `automation cannot put ${m.role} on air`;
  return `${m.role} scene '${m.scene}' does not exist in OBS — ${instead}`;
}

const RESULT_TEXT = {
  sent: 'pending…',
  accepted: 'pending…',
  completed: 'completed ✔',
  rejected: 'rejected',
} as const;

/** `streaming` decides the program scene's tag: OBS's program is on air only while it streams. */
export function ScenesPanel({ scenes, streaming }: { scenes: DockScenes; streaming: DockLive['streaming'] }) {
  const [conn, snap] = useConnection();
  const [last, setLast] = useState<{ id: string; scene: string } | null>(null);
  const result = last ? snap.results.get(last.id) : undefined;
  const localPending =
    last && result && (result.status === 'sent' || result.status === 'accepted') ? last.scene : null;
  const [autoTone, autoIcon] = AUTOMATION[scenes.automation.state];
  const onAir = streaming === true;
  const roleOf = (s: string) =>
    (Object.entries(scenes.roles) as [string, string][]).find(([, v]) => v === s)?.[0]?.toUpperCase() ?? null;

  return (
    <Panel
      id="scenes"
      title="Scenes"
      extra={
        <Badge
          tone={autoTone}
          icon={autoIcon}
          data-testid="automation-state"
          data-state={scenes.automation.state}
        >
          automation {scenes.automation.state}
        </Badge>
      }
    >
      <p class="detail" data-testid="automation-text">
        {scenes.automation.text}
      </p>
      {scenes.missing.length > 0 && (
        <ul class="notices" data-testid="missing-scenes">
          {scenes.missing.map((m) => (
            <li key={m.role} class="notice tone-warn" data-role={m.role}>
              <span aria-hidden="true">⚠</span> {missingText(m)}
            </li>
          ))}
        </ul>
      )}
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
                  class={`scene${active ? ' is-active' : ''}${active && onAir ? ' is-onair' : ''}${pending ? ' is-pending' : ''}`}
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
                    {active &&
                      (onAir ? (
                        <span class="tag tag-onair">● ON AIR</span>
                      ) : (
                        <span class="tag tag-program">● PROGRAM</span>
                      ))}
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
