import type { RelayLink } from '@telemy/protocol';
import type { ActionResult, ChatActions, ChatSource, ThresholdName } from './actions.js';
import {
  CHAT_BOUNDS,
  type ChatConfig,
  type CommandName,
  isCommandName,
  prefixProblem,
  type SceneShortcut,
  withAlias,
} from './config.js';
import { matchScene } from './scene-match.js';

/** A command with validated arguments, ready to run. */
export type Invocation =
  | {
      command:
        | 'live'
        | 'low'
        | 'brb'
        | 'offline'
        | 'status'
        | 'bitrate'
        | 'sourceinfo'
        | 'obsinfo'
        | 'fix'
        | 'refresh'
        | 'start'
        | 'stop'
        | 'record'
        | 'telemy';
    }
  | { command: 'switch'; query: string }
  | { command: SceneShortcut; scene: string }
  | { command: 'irl' | 'auto' | 'override' | 'notify'; on: boolean }
  | { command: 'trigger' | 'otrigger' | 'rtrigger'; value: number | null }
  | { command: 'prefix'; prefix: string }
  | { command: 'alias'; alias: string; target: CommandName | null };

/** Argument part of the usage line, after `<prefix><command>`. */
export const USAGE: Record<CommandName, string> = {
  live: '',
  low: '',
  brb: '',
  offline: '',
  switch: ' <scene>',
  privacy: '',
  starting: '',
  ending: '',
  status: '',
  bitrate: '',
  sourceinfo: '',
  obsinfo: '',
  irl: ' on|off',
  auto: ' on|off',
  override: ' on|off',
  trigger: ' [kbps]',
  otrigger: ' [kbps]',
  rtrigger: ' [ms]',
  fix: '',
  refresh: '',
  start: '',
  stop: '',
  record: '',
  notify: ' on|off',
  prefix: ' <prefix>',
  alias: ' <alias> <command> | rem <alias>',
  telemy: ' help',
};

const THRESHOLDS: Record<
  'trigger' | 'otrigger' | 'rtrigger',
  { name: ThresholdName; label: string; max: number; unit: string }
> = {
  trigger: { name: 'low_bitrate_kbps', label: 'low-bitrate trigger', max: 100_000, unit: 'kb/s' },
  otrigger: { name: 'offline_bitrate_kbps', label: 'offline-bitrate trigger', max: 100_000, unit: 'kb/s' },
  rtrigger: { name: 'low_rtt_ms', label: 'RTT trigger', max: 60_000, unit: 'ms' },
};

const SETTING_LABELS = { auto: 'automatic switching', override: 'manual override' } as const;

const MAX_SCENE_QUERY = 100;

function onOff(arg: string | undefined): boolean | null {
  const a = arg?.toLowerCase();
  if (a === 'on') return true;
  if (a === 'off') return false;
  return null;
}

/**
 * Validates the arguments of a known command. Commands without arguments ignore trailing words
 * (`!brb back in 5`); commands with arguments refuse anything malformed with their usage line.
 * A scene shortcut takes its scene from the config, and is refused when none is set.
 */
export function parseInvocation(
  command: CommandName,
  args: readonly string[],
  config: Pick<ChatConfig, 'prefix' | `${SceneShortcut}_scene`>,
): Invocation | { error: string } {
  const prefix = config.prefix;
  const usage = { error: `usage: ${prefix}${command}${USAGE[command]}` };
  switch (command) {
    case 'switch': {
      const query = args.join(' ');
      if (!query || query.length > MAX_SCENE_QUERY) return usage;
      return { command, query };
    }
    case 'privacy':
    case 'starting':
    case 'ending': {
      const scene = config[`${command}_scene`];
      if (!scene) return { error: `${prefix}${command} is not set up (no ${command}_scene in [chat])` };
      return { command, scene };
    }
    case 'irl':
    case 'auto':
    case 'override':
    case 'notify': {
      const on = onOff(args[0]);
      if (on === null || args.length > 1) return usage;
      return { command, on };
    }
    case 'trigger':
    case 'otrigger':
    case 'rtrigger': {
      if (args.length === 0) return { command, value: null };
      const raw = args[0]!;
      if (args.length > 1 || !/^\d{1,6}$/.test(raw)) return usage;
      const value = Number(raw);
      if (value > THRESHOLDS[command].max)
        return { error: `${prefix}${command}: at most ${THRESHOLDS[command].max}` };
      return { command, value };
    }
    case 'prefix': {
      const next = args[0];
      if (next === undefined || args.length > 1) return usage;
      const problem = prefixProblem(next);
      if (problem) return { error: `${prefix}prefix: ${problem}` };
      return { command, prefix: next };
    }
    case 'alias': {
      const [first, second, ...rest] = args.map((a) => a.toLowerCase());
      if (!first || !second || rest.length > 0) return usage;
      if (first === 'rem') {
        return CHAT_BOUNDS.aliasPattern.test(second) ? { command, alias: second, target: null } : usage;
      }
      const target = second.startsWith(prefix) ? second.slice(prefix.length) : second;
      if (!CHAT_BOUNDS.aliasPattern.test(first) || isCommandName(first) || first === 'rem') return usage;
      if (!isCommandName(target)) return { error: `${prefix}alias: unknown command ${target.slice(0, 25)}` };
      return { command, alias: first, target };
    }
    case 'telemy':
      return args.length === 0 || (args.length === 1 && args[0]!.toLowerCase() === 'help')
        ? { command }
        : usage;
    default:
      return { command };
  }
}

async function runSwitch(query: string, actions: ChatActions, source: ChatSource): Promise<ActionResult> {
  const match = matchScene(query, await actions.listScenes());
  if (match.kind === 'none')
    return { ok: false, reply: `no scene matches "${query.slice(0, 40)}"`, detail: 'no_match' };
  if (match.kind === 'ambiguous') {
    return {
      ok: false,
      reply: `which one: ${match.candidates.slice(0, 5).join(', ')}?`,
      detail: 'ambiguous',
    };
  }
  return actions.switchToScene(match.scene, source);
}

async function runThreshold(
  command: 'trigger' | 'otrigger' | 'rtrigger',
  value: number | null,
  actions: ChatActions,
  source: ChatSource,
): Promise<ActionResult> {
  const { name, label, unit } = THRESHOLDS[command];
  if (value === null) {
    const current = await actions.thresholds();
    return { ok: true, reply: `${label} is ${current[name]} ${unit}` };
  }
  return friendlier(await actions.setThreshold(name, value, source), `${label} set to ${value} ${unit}`);
}

/** The engine's confirmation in chat's words; a refusal keeps the engine's reason. */
function friendlier(r: ActionResult, reply: string): ActionResult {
  return r.ok && !r.blocked_by_guard ? { ...r, reply } : r;
}

async function runSetting(
  command: 'auto' | 'override',
  on: boolean,
  actions: ChatActions,
  source: ChatSource,
): Promise<ActionResult> {
  const key = command === 'auto' ? 'auto_scene_switch' : 'manual_override';
  return friendlier(
    await actions.setSetting(key, on, source),
    `${SETTING_LABELS[command]} ${on ? 'on' : 'off'}`,
  );
}

/** A read changes nothing, so it neither waits for nor starts a cooldown meant for changes. */
export function isRead(inv: Invocation): boolean {
  return (
    (inv.command === 'trigger' || inv.command === 'otrigger' || inv.command === 'rtrigger') &&
    inv.value === null
  );
}

/** ChatBridge's own `[chat]` values after a command that changed them was accepted. */
export function chatConfigAfter(config: ChatConfig, inv: Invocation): ChatConfig {
  switch (inv.command) {
    case 'alias':
      return withAlias(config, inv.alias, inv.target);
    case 'notify':
      return { ...config, announce_auto_switch: inv.on };
    case 'prefix':
      return { ...config, prefix: inv.prefix };
    default:
      return config;
  }
}

/** Runs a validated command through ChatActions. `help` is the text `!telemy help` answers with. */
export async function executeInvocation(
  inv: Invocation,
  actions: ChatActions,
  source: ChatSource,
  help: string,
): Promise<ActionResult> {
  switch (inv.command) {
    case 'live':
      return actions.explicitIntent('LIVE', source);
    case 'low':
      return actions.explicitIntent('LOW', source);
    case 'brb':
      return actions.explicitIntent('BRB', source);
    case 'offline':
      return actions.explicitIntent('OFFLINE', source);
    case 'switch':
      return runSwitch(inv.query, actions, source);
    case 'privacy':
    case 'starting':
    case 'ending':
      return actions.switchToScene(inv.scene, source);
    case 'status':
      return actions.status();
    case 'bitrate':
      return actions.bitrates();
    case 'sourceinfo':
      return actions.sourceInfo();
    case 'obsinfo':
      return actions.obsInfo();
    case 'irl':
      return actions.irl(inv.on, source);
    case 'auto':
    case 'override':
      return runSetting(inv.command, inv.on, actions, source);
    case 'trigger':
    case 'otrigger':
    case 'rtrigger':
      return runThreshold(inv.command, inv.value, actions, source);
    case 'fix':
      return actions.fixMediaSources(source);
    case 'refresh':
      return actions.refreshFeedSource(source);
    case 'start':
      return actions.startStream(source);
    case 'stop':
      return actions.stopStream(source);
    case 'record':
      return actions.toggleRecord(source);
    case 'notify':
      return friendlier(
        await actions.setNotify(inv.on, source),
        inv.on ? 'automatic switches will be announced in chat' : 'automatic switches will not be announced',
      );
    case 'prefix':
      return friendlier(
        await actions.setPrefix(inv.prefix, source),
        `commands now start with ${inv.prefix}, e.g. ${inv.prefix}telemy help`,
      );
    case 'alias':
      return actions.setAlias(inv.alias, inv.target, source);
    case 'telemy':
      return { ok: true, reply: help };
  }
}

/**
 * `!bitrate`'s addition while the feed comes through an SRTLA-bonded relay: each bonding link by its
 * address with the bitrate the relay measures on it, a dropped one as `down`
 * ("2 links: 10.0.0.5 3.1 Mb/s, 10.0.0.6 2.9 Mb/s"). Null when no link is bonded (plain SRT or no relay).
 */
export function bondedLinksLine(links: readonly RelayLink[]): string | null {
  const bonded = links.filter((l) => l.protocol === 'srtla');
  if (bonded.length === 0) return null;
  const each = bonded.map((l) => {
    const who = l.source_ip ?? (l.label || l.link_id);
    return l.status === 'disconnected' ? `${who} down` : `${who} ${(l.bitrate_kbps / 1000).toFixed(1)} Mb/s`;
  });
  return `${bonded.length} link${bonded.length === 1 ? '' : 's'}: ${each.join(', ')}`;
}
