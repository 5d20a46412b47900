import {
  DOCK_CHAT_PLATFORMS,
  type DockState,
  FAILOVER_BOUNDS,
  type FailoverBoundKey,
  OTLP_INTERVAL_BOUNDS,
  type SettingsFieldErrors,
  type SettingsFormInput,
  SOURCE_TYPE_CATALOGUE,
  SOURCE_TYPES,
  type SourceTypeInfo,
  settingsFieldErrors,
  settingsFormSchema,
  sourceRequiredField,
} from '@telemy/protocol/dock';
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useConnection } from '../context.js';

/**
 * The settings page. The draft is validated with the same zod schema the engine applies, on every
 * edit; the whole form is sent as one `save_settings` action that the engine applies atomically, so
 * nothing is ever half-saved. Secrets are write-only fields: empty keeps the value in the vault.
 * Starting values come from the engine's config view, so defaults live only in its config schema.
 */

const ROLE_KEYS = ['live', 'low', 'brb', 'offline'] as const;
type RoleKey = (typeof ROLE_KEYS)[number];

/**
 * Role scenes the draft names that OBS's current list lacks. Only a warning: the streamer may be
 * about to create the scene, and while OBS is away its list proves nothing.
 */
function missingRoleScenes(
  roles: Record<RoleKey, string>,
  scenes: DockState['scenes'],
): Partial<Record<RoleKey, string>> {
  if (!scenes.available) return {};
  const out: Partial<Record<RoleKey, string>> = {};
  for (const k of ROLE_KEYS) {
    const name = roles[k].trim();
    if (name && !scenes.list.includes(name)) out[k] = name;
  }
  return out;
}

export function draftFromState(state: DockState): SettingsFormInput | null {
  const c = state.config;
  if (!c) return null;
  const outputIds = new Set(c.outputs.map((o) => o.obs_id));
  const seen = [...state.outputs.groups.flatMap((g) => g.outputs), ...state.outputs.hidden];
  return {
    obs: { host: c.obs.host, port: c.obs.port, password: '' },
    scenes: { ...state.scenes.roles, managed_extra: [...c.managed_extra] },
    thresholds: { ...state.feed.thresholds },
    timings: { ...c.timings },
    sources: c.sources.map((s) => ({
      name: s.name,
      type: (SOURCE_TYPES as readonly string[]).includes(s.type)
        ? (s.type as SettingsFormInput['sources'][number]['type'])
        : 'obs_output',
      priority: s.priority,
      enabled: s.enabled,
      url: s.url ?? '',
      stats_file: s.stats_file ?? '',
      input: s.input ?? '',
      was: s.name,
    })),
    chat: Object.fromEntries(
      DOCK_CHAT_PLATFORMS.map((p) => [p, { channel: c.chat[p].channel, token: '' }]),
    ) as SettingsFormInput['chat'],
    cloud: {
      mode: c.cloud.mode,
      base_url: c.cloud.base_url,
      region_preference: c.cloud.region_preference,
      api_key: '',
    },
    otlp: {
      enabled: c.otlp.enabled,
      endpoint: c.otlp.endpoint,
      interval_ms: c.otlp.interval_ms,
      auth_value: '',
    },
    outputs: [
      ...c.outputs.map((o) => ({ ...o })),
      ...seen
        .filter((o) => !outputIds.has(o.id))
        .map((o) => ({ obs_id: o.id, display_name: o.display_name, encoder_group: '', hidden: false })),
    ],
  };
}

type Path = (string | number)[];

function getAt(obj: unknown, path: Path): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], obj);
}

function setAt<T>(obj: T, path: Path, value: unknown): T {
  if (path.length === 0) return value as T;
  const [head, ...rest] = path as [string | number, ...Path];
  const copy = (Array.isArray(obj) ? [...obj] : { ...(obj as object) }) as Record<string | number, unknown>;
  copy[head] = setAt(copy[head], rest, value);
  return copy as T;
}

const key = (path: Path) => path.join('.');

export function SettingsPage({ state }: { state: DockState }) {
  const [conn, snap] = useConnection();
  const [draft, setDraft] = useState<SettingsFormInput | null>(() => draftFromState(state));
  const [serverErrors, setServerErrors] = useState<SettingsFieldErrors>({});
  const [saveId, setSaveId] = useState<string | null>(null);
  const [attempted, setAttempted] = useState(false);

  const clientErrors = useMemo(() => {
    if (!draft) return {};
    const r = settingsFormSchema.safeParse(draft);
    return r.success ? {} : settingsFieldErrors(r.error);
  }, [draft]);

  const result = saveId ? snap.results.get(saveId) : undefined;
  const rejectedFields = result?.status === 'rejected' ? result.field_errors : undefined;
  useEffect(() => {
    if (!rejectedFields) return;
    const mapped: SettingsFieldErrors = {};
    for (const [k, v] of Object.entries(rejectedFields)) mapped[k.replace(/^settings\./, '')] = v;
    setServerErrors(mapped);
  }, [rejectedFields]);

  if (!draft) {
    return (
      <div class="settings">
        <p class="muted">The engine has not loaded its configuration yet.</p>
      </div>
    );
  }

  const errorFor = (path: Path) => serverErrors[key(path)] ?? clientErrors[key(path)];
  const update = (path: Path, value: unknown) => {
    setDraft(setAt(draft, path, value));
    if (serverErrors[key(path)]) {
      const { [key(path)]: _gone, ...rest } = serverErrors;
      setServerErrors(rest);
    }
  };

  const text = (path: Path, label: string, opts: { type?: string; placeholder?: string } = {}) => (
    <Field path={path} label={label} error={errorFor(path)}>
      <input
        id={`f-${key(path)}`}
        name={key(path)}
        type={opts.type ?? 'text'}
        autoComplete={opts.type === 'password' ? 'new-password' : 'off'}
        placeholder={opts.placeholder}
        value={String(getAt(draft, path) ?? '')}
        aria-invalid={errorFor(path) ? 'true' : undefined}
        aria-describedby={`err-${key(path)}`}
        onInput={(e) => update(path, (e.currentTarget as HTMLInputElement).value)}
      />
    </Field>
  );
  const number = (path: Path, label: string, bounds?: { min: number; max: number }, unit?: string) => {
    const v = getAt(draft, path) as number;
    return (
      <Field
        path={path}
        label={label}
        error={errorFor(path)}
        hint={bounds ? `${bounds.min}–${bounds.max}${unit ? ` ${unit}` : ''}` : unit}
      >
        <input
          id={`f-${key(path)}`}
          name={key(path)}
          type="number"
          inputMode="numeric"
          min={bounds?.min}
          max={bounds?.max}
          value={Number.isNaN(v) ? '' : String(v)}
          aria-invalid={errorFor(path) ? 'true' : undefined}
          aria-describedby={`err-${key(path)}`}
          onInput={(e) => {
            const raw = (e.currentTarget as HTMLInputElement).value.trim();
            update(path, raw === '' ? Number.NaN : Number(raw));
          }}
        />
      </Field>
    );
  };
  const check = (path: Path, label: string) => (
    <label class="check">
      <input
        type="checkbox"
        name={key(path)}
        checked={Boolean(getAt(draft, path))}
        onChange={(e) => update(path, (e.currentTarget as HTMLInputElement).checked)}
      />{' '}
      {label}
    </label>
  );
  const select = (
    path: Path,
    label: string,
    options: { value: string; label: string }[],
    warning?: string,
  ) => (
    <Field path={path} label={label} error={errorFor(path)} warning={warning}>
      <select
        id={`f-${key(path)}`}
        name={key(path)}
        value={String(getAt(draft, path) ?? '')}
        aria-describedby={`err-${key(path)}${warning ? ` warn-${key(path)}` : ''}`}
        onChange={(e) => update(path, (e.currentTarget as HTMLSelectElement).value)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
  const threshold = (k: FailoverBoundKey, label: string, unit: string) =>
    number([k in draft.thresholds ? 'thresholds' : 'timings', k], label, FAILOVER_BOUNDS[k], unit);

  const sceneOptions = (current: string, allowNone: boolean) => {
    const names = [...state.scenes.list];
    const opts = names.map((n) => ({ value: n, label: n }));
    if (current && !names.includes(current))
      opts.unshift({ value: current, label: `${current} (not in OBS)` });
    if (allowNone) opts.unshift({ value: '', label: '(none: LOW holds the scene)' });
    return opts;
  };

  const missing = missingRoleScenes(draft.scenes, state.scenes);
  const missingList = ROLE_KEYS.flatMap((k) =>
    missing[k] ? [`${k.toUpperCase()} scene '${missing[k]}'`] : [],
  );
  const them = missingList.length === 1 ? 'it' : 'them';
  const roleSelect = (k: RoleKey) =>
    select(
      ['scenes', k],
      `${k.toUpperCase()} scene`,
      sceneOptions(draft.scenes[k], k === 'low'),
      missing[k] ? `OBS has no scene named '${missing[k]}': automation cannot put it on air` : undefined,
    );

  const errorCount = Object.keys(clientErrors).length;
  const save = (e: Event) => {
    e.preventDefault();
    setAttempted(true);
    const parsed = settingsFormSchema.safeParse(draft);
    if (!parsed.success) return;
    setServerErrors({});
    setSaveId(conn.send({ type: 'save_settings', settings: parsed.data }));
  };

  let status = '';
  if (attempted && errorCount > 0)
    status = `Not saved: ${errorCount} field(s) need fixing (see the messages beside them).`;
  else if (result?.status === 'sent' || result?.status === 'accepted') status = 'Saving…';
  else if (result?.status === 'completed') status = '✔ Saved.';
  else if (result?.status === 'rejected') status = `✖ Not saved: ${result.reason ?? 'refused by the engine'}`;

  return (
    <form class="settings" noValidate onSubmit={save} data-testid="settings-form">
      <Section title="OBS connection">
        {text(['obs', 'host'], 'Host')}
        {number(['obs', 'port'], 'Port', { min: 1, max: 65535 })}
        {text(['obs', 'password'], 'Password', {
          type: 'password',
          placeholder: state.config?.obs.password_set ? 'stored (empty = keep)' : 'not set',
        })}
      </Section>

      <Section
        title="Scene roles"
        note={
          state.scenes.available
            ? "Picked from OBS's current scene list."
            : 'OBS is not connected: the list is the last one seen, so scene names are not checked.'
        }
      >
        {roleSelect('live')}
        {roleSelect('low')}
        {roleSelect('brb')}
        {roleSelect('offline')}
      </Section>

      <Section title="Thresholds" note="0 turns a trigger off.">
        {threshold('low_bitrate_kbps', 'Low bitrate', 'kb/s')}
        {threshold('offline_bitrate_kbps', 'Offline bitrate', 'kb/s')}
        {threshold('low_rtt_ms', 'Low RTT', 'ms')}
        {threshold('offline_rtt_ms', 'Offline RTT', 'ms')}
      </Section>

      <Section title="Timings">
        {threshold('sample_interval_ms', 'Sample interval', 'ms')}
        {threshold('offline_after_ms', 'Offline after', 'ms')}
        {threshold('low_after_ms', 'Low after', 'ms')}
        {threshold('recover_after_ms', 'Recover after', 'ms')}
        {threshold('switch_deadline_ms', 'Switch deadline', 'ms')}
        {threshold('offline_timeout_s', 'Stop stream after offline', 's')}
        {threshold('offline_hold_s', 'OFFLINE on air before the stop', 's')}
      </Section>

      <Section
        title="Ingest sources"
        note="Sources are tried in priority order; the first one that is not offline wins."
      >
        {draft.sources.map((s, i) => (
          <fieldset class="row-editor" key={i}>
            <legend>Source {i + 1}</legend>
            {text(['sources', i, 'name'], 'Name')}
            {select(
              ['sources', i, 'type'],
              'Type',
              SOURCE_TYPES.map((t) => ({ value: t, label: `${t}: ${SOURCE_TYPE_CATALOGUE[t].about}` })),
            )}
            {number(['sources', i, 'priority'], 'Priority', { min: 0, max: 1000 })}
            {check(['sources', i, 'enabled'], 'Enabled')}
            {requiredFieldEditor(s.type, (field, label) => text(['sources', i, field], label))}
            <button
              type="button"
              class="small"
              onClick={() => setDraft({ ...draft, sources: draft.sources.filter((_, j) => j !== i) })}
            >
              Remove
            </button>
          </fieldset>
        ))}
        <button
          type="button"
          onClick={() =>
            setDraft({
              ...draft,
              sources: [
                ...draft.sources,
                {
                  name: '',
                  type: 'srt_live_transmit',
                  priority: 100,
                  enabled: true,
                  url: '',
                  stats_file: '',
                  input: '',
                },
              ],
            })
          }
        >
          + Add source
        </button>
      </Section>

      <Section title="Chat" note="Tokens go to the vault. An empty channel turns the platform off.">
        {DOCK_CHAT_PLATFORMS.map((p) => (
          <div class="pair" key={p}>
            {text(['chat', p, 'channel'], `${p} channel`)}
            {text(['chat', p, 'token'], `${p} token`, {
              type: 'password',
              placeholder: state.config?.chat[p].token_set ? 'stored (empty = keep)' : 'not set',
            })}
          </div>
        ))}
      </Section>

      <Section title="Cloud">
        {select(['cloud', 'mode'], 'Mode', [
          { value: 'embedded', label: 'embedded (this PC)' },
          { value: 'remote', label: 'remote control plane' },
          { value: 'off', label: 'off' },
        ])}
        {text(['cloud', 'base_url'], 'Control-plane URL', { placeholder: 'https://…' })}
        {text(['cloud', 'region_preference'], 'Region preference')}
        {text(['cloud', 'api_key'], 'API key', {
          type: 'password',
          placeholder: state.config?.cloud.api_key_set ? 'stored (empty = keep)' : 'not set',
        })}
      </Section>

      <Section title="Grafana / OTLP">
        {check(['otlp', 'enabled'], 'Export metrics over OTLP')}
        {text(['otlp', 'endpoint'], 'Endpoint', { placeholder: 'https://otlp-gateway-…/otlp' })}
        {number(['otlp', 'interval_ms'], 'Interval', OTLP_INTERVAL_BOUNDS, 'ms')}
        {text(['otlp', 'auth_value'], 'Authorization header', {
          type: 'password',
          placeholder: state.config?.otlp.auth_set ? 'stored (empty = keep)' : 'not set',
        })}
      </Section>

      <Section
        title="Outputs"
        note="Names and encoder groups shown in the dock; hidden outputs are listed apart."
      >
        {draft.outputs.length === 0 && <p class="muted">OBS reports no outputs yet.</p>}
        {draft.outputs.map((o, i) => (
          <fieldset class="row-editor" key={o.obs_id}>
            <legend>{o.obs_id}</legend>
            {text(['outputs', i, 'display_name'], 'Display name')}
            {text(['outputs', i, 'encoder_group'], 'Encoder group', { placeholder: 'e.g. Horizontal' })}
            {check(['outputs', i, 'hidden'], 'Hidden')}
          </fieldset>
        ))}
      </Section>

      <div class="form-actions">
        {missingList.length > 0 && (
          <p class="save-warning" data-testid="save-warning">
            <span aria-hidden="true">⚠</span> Not in OBS: {missingList.join(', ')}. Automation cannot put{' '}
            {them} on air; saving is still possible.
          </p>
        )}
        <button type="submit" class="primary">
          Save settings
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft(draftFromState(state));
            setServerErrors({});
            setAttempted(false);
          }}
        >
          Reset
        </button>
        <p class="save-status" role="status" data-testid="save-status">
          {status}
        </p>
      </div>
    </form>
  );
}

function Section({ title, note, children }: { title: string; note?: string; children: ComponentChildren }) {
  return (
    <fieldset class="section">
      <legend>{title}</legend>
      {note && <p class="muted">{note}</p>}
      <div class="fields">{children}</div>
    </fieldset>
  );
}

function Field(props: {
  path: Path;
  label: string;
  error: string | undefined;
  /** Allowed but probably not meant (e.g. a scene OBS does not have); saving stays possible. */
  warning?: string | undefined;
  hint?: string | undefined;
  children: ComponentChildren;
}) {
  const k = key(props.path);
  return (
    <div class={`field${props.error ? ' has-error' : ''}`} data-field={k}>
      <label for={`f-${k}`}>
        {props.label}
        {props.hint && <span class="hint"> ({props.hint})</span>}
      </label>
      {props.children}
      {props.warning && (
        <p class="field-warning" id={`warn-${k}`} data-warning-for={k}>
          <span aria-hidden="true">⚠</span> {props.warning}
        </p>
      )}
      <p class="field-error" id={`err-${k}`} data-error-for={k}>
        {props.error ? `✖ ${props.label} ${props.error}` : ''}
      </p>
    </div>
  );
}

const REQUIRED_FIELD_LABEL: Record<NonNullable<SourceTypeInfo['needs']>, string> = {
  url: 'Stats URL',
  stats_file: 'Stats file',
  input: 'OBS media source',
};

/** The one field a source type needs, from the shared source-type table (none for some types). */
function requiredFieldEditor<T>(
  type: string,
  editor: (field: NonNullable<SourceTypeInfo['needs']>, label: string) => T,
): T | null {
  const field = (SOURCE_TYPES as readonly string[]).includes(type)
    ? sourceRequiredField(type as (typeof SOURCE_TYPES)[number])
    : null;
  return field === null ? null : editor(field, REQUIRED_FIELD_LABEL[field]);
}
