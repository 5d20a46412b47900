import { errorText, type RelayLink } from '@telemy/protocol';
import type { ActionResult, ChatActions, ChatSource, ThresholdName } from '../chat/actions.js';
import { bondedLinksLine } from '../chat/commands.js';
import { type CommandName, withAlias } from '../chat/config.js';
import type { ConfigStore } from '../config/index.js';
import type { ControlOutcome, EngineControl } from './engine-control.js';
import {
  bitrateLine,
  type EngineStatusSummary,
  obsInfoLine,
  sourceInfoLine,
  statusReply,
} from './status-summary.js';

/** What chat replies and audits for an engine outcome: a guard refusal is `blocked_by_guard`. */
export function chatResult(o: ControlOutcome): ActionResult {
  return {
    ok: o.ok,
    reply: o.message,
    ...(o.guard ? { blocked_by_guard: o.guard } : {}),
    ...(o.request_id ? { detail: `request ${o.request_id}` } : o.error_code ? { detail: o.error_code } : {}),
  };
}

/** ChatBridge's actions on the engine: each one the same EngineControl call the dock and API make. */
export function engineChatActions(deps: {
  control: EngineControl;
  store: ConfigStore;
  scenes: () => string[];
  status: () => EngineStatusSummary;
  /** The relay's links while a session runs (the cloud link's snapshot), for `!bitrate`. */
  relayLinks?: () => readonly RelayLink[];
}): ChatActions {
  const { control, store } = deps;
  const result = chatResult;
  /** Saves `[chat]` keys; the bridge applies them itself once the command is accepted. */
  const saveChat = (changes: Record<string, string | boolean>, what: string): ActionResult => {
    try {
      store.update(changes);
    } catch (err) {
      return { ok: false, reply: `could not save the ${what}`, detail: errorText(err) };
    }
    return { ok: true, reply: `${what} saved` };
  };
  return {
    explicitIntent: async (intent, source: ChatSource) =>
      result(await control.intent(intent, 'chat', source.request_id)),
    switchToScene: async (name, source) => result(await control.switchScene(name, 'chat', source.request_id)),
    listScenes: async () => deps.scenes(),
    setSetting: async (key, value) => result(control.setFlag(key, value)),
    thresholds: async () => {
      const f = store.config.failover;
      return {
        low_bitrate_kbps: f.low_bitrate_kbps,
        offline_bitrate_kbps: f.offline_bitrate_kbps,
        low_rtt_ms: f.low_rtt_ms,
      };
    },
    setThreshold: async (name: ThresholdName, value) => result(control.setThresholds({ [name]: value })),
    status: async () => ({ ok: true, reply: statusReply(deps.status()) }),
    bitrates: async () => {
      const links = bondedLinksLine(deps.relayLinks?.() ?? []);
      return { ok: true, reply: [bitrateLine(deps.status()), links].filter((l) => l !== null).join(' | ') };
    },
    sourceInfo: async () => ({ ok: true, reply: sourceInfoLine(deps.status()) }),
    obsInfo: async () => ({ ok: true, reply: obsInfoLine(deps.status()) }),
    irl: async (on) => result(on ? await control.relayStart('chatbridge') : await control.relayStop()),
    startStream: async () => result(await control.startStream()),
    stopStream: async () => result(await control.stopStream()),
    toggleRecord: async () => result(await control.toggleRecord()),
    fixMediaSources: async () => result(await control.fixMediaSources()),
    refreshFeedSource: async () => result(await control.refreshFeedSource()),
    setNotify: async (on) => saveChat({ 'chat.announce_auto_switch': on }, 'announcement setting'),
    setPrefix: async (prefix) => saveChat({ 'chat.prefix': prefix }, 'prefix'),
    setAlias: async (alias: string, command: CommandName | null) => {
      const next = withAlias(store.config.chat, alias, command);
      const changes: Record<string, string[]> = {};
      for (const [name, policy] of Object.entries(next.commands))
        changes[`chat.commands.${name}.aliases`] = policy?.aliases ?? [];
      try {
        store.update(changes);
      } catch (err) {
        return {
          ok: false,
          reply: 'could not save the alias',
          detail: errorText(err),
        };
      }
      return { ok: true, reply: command ? `alias !${alias} → !${command}` : `alias !${alias} removed` };
    },
  };
}
