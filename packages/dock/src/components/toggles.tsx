import {
  DOCK_AUTOMATION_FLAGS,
  type DockAutomationFlag,
  type DockSettingsToggles,
} from '@telemy/protocol/dock';
import { useState } from 'preact/hooks';
import { useConnection } from '../context.js';
import { Panel } from './ui.js';

const LABELS: Record<DockAutomationFlag, string> = {
  auto_scene_switch: 'Automatic scene switching',
  low_quality_fallback: 'LOW scene on weak feed',
  manual_override: 'Manual override (automation paused)',
  chat_bot: 'Chat bot',
  alerts: 'Alerts',
};

export function TogglesPanel({ settings }: { settings: DockSettingsToggles }) {
  const [conn, snap] = useConnection();
  const [sent, setSent] = useState<Partial<Record<DockAutomationFlag, string>>>({});
  return (
    <Panel id="toggles" title="Quick toggles">
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
                    const value = (e.currentTarget as HTMLInputElement).checked;
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
