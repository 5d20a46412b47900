import type { ActionResult, ChatActions, ChatSource, ThresholdName } from './actions.js';
import { CHAT_BOUNDS, type CommandName, isCommandName } from './config.js';
import { matchScene } from './scene-match.js';

/** A command with validated arguments, ready to run. */
export type Invocation =
  | {
      command:
        | 'live'
        | 'brb'
        | 'offline'
        | 'status'
        | 'bitrate'
        | 'fix'
        | 'start'
        | 'stop'
        | 'record'
        | 'telemy';
    }
  | { command: 'switch'; query: string }
  | { command: 'irl' | 'auto' | 'override'; on: boolean }
  | { command: 'trigger' | 'otrigger' | 'rtrigger'; value: number | null }
  | { command: 'alias'; alias: string; target: CommandName | null };

/** Argument part of the usage line, after `<prefix><command>`. */
export const USAGE: Record<CommandName, string> = {
  live: '',
  brb: '',
  offline: '',
  switch: ' <scene>',
  status: '',
  bitrate: '',
  irl: ' on|off',
  auto: ' on|off',
  override: ' on|off',
  trigger: ' [kbps]',
  otrigger: ' [kbps]',
  rtrigger: ' [ms]',
  fix: '',
  start: '',
  stop: '',
  record: '',
  alias: ' <alias> <command> | rem <alias>',
  telemy: ' help',
};

const THRESHOLDS: Record<
  'trigger' | 'otrigger' | 'rtrigger',
  { name: ThresholdName; max: number; unit: string }
> = {
  trigger: { name: 'low_bitrate_kbps', max: 100_000, unit: 'kbps' },
  otrigger: { name: 'offline_bitrate_kbps', max: 100_000, unit: 'kbps' },
  rtrigger: { name: 'low_rtt_ms', max: 60_000, unit: 'ms' },
};

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
 */
export function parseInvocation(
  command: CommandName,
  args: readonly string[],
  prefix: string,
): Invocation | { error: string } {
  const usage = { error: `usage: ${prefix}${command}${USAGE[command]}` };
  switch (command) {
    case 'switch': {
      const query = args.join(' ');
      if (!query || query.length > MAX_SCENE_QUERY) return usage;
      return { command, query };
    }
    case 'irl':
    case 'auto':
    case 'override': {
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
  const { name, unit } = THRESHOLDS[command];
  if (value === null) {
    const current = await actions.thresholds();
    return { ok: true, reply: `${name} is ${current[name]} ${unit}` };
  }
  return actions.setThreshold(name, value, source);
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
    case 'brb':
      return actions.explicitIntent('BRB', source);
    case 'offline':
      return actions.explicitIntent('OFFLINE', source);
    case 'switch':
      return runSwitch(inv.query, actions, source);
    case 'status':
      return actions.status();
    case 'bitrate':
      return actions.bitrates();
    case 'irl':
      return actions.irl(inv.on, source);
    case 'auto':
      return actions.setSetting('auto_scene_switch', inv.on, source);
    case 'override':
      return actions.setSetting('manual_override', inv.on, source);
    case 'trigger':
    case 'otrigger':
    case 'rtrigger':
      return runThreshold(inv.command, inv.value, actions, source);
    case 'fix':
      return actions.fixMediaSources(source);
    case 'start':
      return actions.startStream(source);
    case 'stop':
      return actions.stopStream(source);
    case 'record':
      return actions.toggleRecord(source);
    case 'alias':
      return actions.setAlias(inv.alias, inv.target, source);
    case 'telemy':
      return { ok: true, reply: help };
  }
}
