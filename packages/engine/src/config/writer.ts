import { existsSync, readFileSync } from 'node:fs';
import { type SourceForm, sourceFormSchema } from '@telemy/protocol';
import { stringify } from 'smol-toml';
import { writeFileAtomic } from './atomic-write.js';
import { parseConfigText, validateConfig } from './loader.js';
import type { TelemyConfig } from './schema.js';
import { defaultConfigText } from './template.js';

export type ScalarChange = string | number | boolean | string[];

/**
 * Changes keys of plain tables (`failover.low_bitrate_kbps`, `chat.twitch.channel`) in place, line by
 * line, so the user's comments and layout survive (smol-toml cannot round-trip comments). The result
 * is validated before anything is written; an invalid change writes nothing.
 */
export function updateConfigFile(file: string, changes: Record<string, ScalarChange>): TelemyConfig {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : defaultConfigText();
  for (const [dotted, value] of Object.entries(changes)) text = setKey(text, dotted, value);
  const config = validateConfig(parseConfigText(text, file), file);
  writeFileAtomic(file, text);
  return config;
}

/**
 * Rewrites the whole file from a changed copy of its parsed content (the settings page saves every
 * section at once). Comments are lost, which is why smaller changes go through `updateConfigFile`.
 * Validated before writing: an invalid result writes nothing.
 */
export function rewriteConfigFile(
  file: string,
  mutate: (raw: Record<string, unknown>) => void,
): TelemyConfig {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : defaultConfigText();
  const raw = parseConfigText(text, file);
  mutate(raw);
  const config = validateConfig(raw, file);
  const { config_version, ...rest } = raw;
  writeFileAtomic(file, `config_version = ${String(config_version ?? 3)}\n${stringify(rest)}\n`);
  return config;
}

/**
 * Replaces whole arrays of tables (`outputs`, `sources`): those are rewritten by re-serialising the
 * file, which drops comments; the dock warns about that on the settings page.
 */
export function replaceConfigTables(
  file: string,
  changes: Partial<Pick<TelemyConfig, 'outputs' | 'sources'>>,
): TelemyConfig {
  return rewriteConfigFile(file, (raw) => Object.assign(raw, changes));
}

/** The `[[sources]]` keys the settings page edits; every other key of an entry is kept as it was. */
const FORM_SOURCE_KEYS = Object.keys(sourceFormSchema.in.shape).filter((k) => k !== 'was');

/**
 * The settings page's sources merged onto the file's `[[sources]]` entries. Each edited source
 * starts from the entry it was loaded from (`was`, else its name), so fields the page does not show
 * (publisher, stream, username, password_key, …) survive a save; a field the page cleared is removed.
 * Entries the page no longer lists are dropped: the user removed them.
 */
export function mergeSourceEdits(previous: unknown, edits: readonly SourceForm[]): Record<string, unknown>[] {
  const entries = Array.isArray(previous)
    ? previous.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    : [];
  // A name another edit was loaded as belongs to that edit (renamed), not to a new source reusing it.
  const claimed = new Set(edits.map((e) => e.was).filter((w) => w !== undefined));
  return edits.map((edit) => {
    const from = edit.was ?? (claimed.has(edit.name) ? undefined : edit.name);
    const origin = entries.find((e) => from !== undefined && e.name === from) ?? {};
    const kept = Object.entries(origin).filter(([k]) => !FORM_SOURCE_KEYS.includes(k));
    const edited = FORM_SOURCE_KEYS.map((k) => [k, edit[k as keyof SourceForm]] as const).filter(
      ([, v]) => v !== undefined,
    );
    return Object.fromEntries([...kept, ...edited]);
  });
}

function setKey(text: string, dotted: string, value: ScalarChange): string {
  const parts = dotted.split('.');
  const key = parts.pop();
  if (!key || parts.length === 0) throw new Error(`config key must be section.key, got "${dotted}"`);
  const section = parts.join('.');
  const line = `${key} = ${tomlValue(value)}`;
  const lines = text.split('\n');
  const headerRe = new RegExp(`^\\s*\\[\\s*${escapeRe(section)}\\s*\\]\\s*(#.*)?$`);
  const start = lines.findIndex((l) => headerRe.test(l));
  if (start === -1) {
    const trimmed = text.endsWith('\n') ? text : `${text}\n`;
    return `${trimmed}\n[${section}]\n${line}\n`;
  }
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^\s*\[/.test(lines[i] as string)) {
      end = i;
      break;
    }
  }
  const keyRe = new RegExp(`^(\\s*)${escapeRe(key)}\\s*=`);
  for (let i = start + 1; i < end; i++) {
    const m = keyRe.exec(lines[i] as string);
    if (m) {
      lines[i] = `${m[1]}${line}`;
      return lines.join('\n');
    }
  }
  let insertAt = start + 1;
  for (let i = start + 1; i < end; i++)
    if (/^\s*[A-Za-z0-9_-]+\s*=/.test(lines[i] as string)) insertAt = i + 1;
  lines.splice(insertAt, 0, line);
  return lines.join('\n');
}

function tomlValue(v: ScalarChange): string {
  return stringify({ v }).replace(/^v = /, '').trim();
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
