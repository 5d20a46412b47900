import {
  DOCK_AUTOMATION_FLAGS,
  type DockAutomationFlag,
  type DockHeader,
  type DockSettingsToggles,
} from '@telemy/protocol/dock';
import { useState } from 'preact/hooks';
import { useConnection } from '../context.js';
import { ActionStatus, useAction } from './action-status.js';
import { Panel } from './ui.js';

const LABELS: Record<DockAutomationFlag, string> = {
  auto_scene_switch: 'Automatic scene switching',
  low_quality_fallback: 'LOW scene on weak feed',
  manual_override: 'Manual override (automation paused)',
  only_while_streaming: 'Only switch while streaming',
  chat_bot: 'Chat bot',
  alerts: 'Alerts',
};

export function TogglesPanel({
  settings,
  mode,
}: {
  settings: DockSettingsToggles;
  mode: DockHeader['mode'];
}) {
  const [conn, snap] = useConnection();
  const [sendMode, modeResult] = useAction();
  const [sent, setSent] = useState<Partial<Record<DockAutomationFlag, string>>>({});
  return (
    <Panel id="toggles" title="Quick toggles">
      <div class="mode-switch">
        <span class="mode-label">Mode</span>
        {(['studio', 'irl'] as const).map((m) => (
          <button
            key={m}
            type="button"
            aria-pressed={mode === m}
            class={mode === m ? 'is-current' : ''}
            onClick={() => mode !== m && sendMode({ type: 'set_mode', mode: m })}
          >
            {mode === m ? '● ' : '○ '}
            {m === 'irl' ? 'IRL' : 'Studio'}
          </button>
        ))}
      </div>
      <ActionStatus result={modeResult} what="Mode change" />
      <ul class="toggles">
        {DOCK_AUTOMATION_FLAGS.map((key) => {
          const r = sent[key] ? snap.results.get(sent[key]!) : undefined;
          const busy = r?.status === 'sent' || r?.status === 'accepted';
          return (
            <li key={key}>
              <label>
                <input
                  type="checkbox"
                  name={key}
                  checked={settings[key]}
                  disabled={busy}
                  onChange={(e) => {
                    const box = e.currentTarget as HTMLInputElement;
                    const value = box.checked;
                    // The engine's state decides what is shown; the box flips when it reports the change.
                    box.checked = settings[key];
                    setSent({ ...sent, [key]: conn.send({ type: 'set_setting', key, value }) });
                  }}
                />
                <span>{LABELS[key]}</span>
                <span class="state-word">{settings[key] ? 'on' : 'off'}</span>
              </label>
              {r?.status === 'rejected' && <p class="field-error">{r.reason}</p>}
            </li>
          );
        })}
      </ul>
    </Panel>
  );
}
