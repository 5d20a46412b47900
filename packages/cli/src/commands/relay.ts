import { createLogger } from '@telemy/protocol';
import {
  parseRelayConfig,
  RELAY_ENV,
  type RelayAgentConfig,
  type RelayAgentConfigInput,
  RelayAgentConfigSchema,
  relayConfigFromStrings,
} from '@telemy/relay/config';
import type { Command } from 'commander';
import { CliError } from '../context.js';

/** Flag → config key. Every flag falls back to its `TELEMY_RELAY_*` variable (see `--help`). */
const FLAGS: Array<[flag: string, key: keyof RelayAgentConfig, help: string]> = [
  ['--session-id <id>', 'sessionId', 'session served by this relay'],
  ['--instance-id <id>', 'instanceId', 'this relay instance (EC2 instance id, or the local id)'],
  [
    '--control-plane-url <url>',
    'controlPlaneUrl',
    'control plane base URL for health reports (none = no reports)',
  ],
  [
    '--credential <rly_…>',
    'relayCredential',
    'relay credential for health reports (prefer the env variable)',
  ],
  ['--pair-token <token>', 'pairToken', 'SRT passphrase of the ingest (prefer the env variable)'],
  ['--ws-token <token>', 'relayWsToken', 'bearer token of the telemetry WebSocket (prefer the env variable)'],
  [
    '--egress-passphrase <pass>',
    'egressPassphrase',
    'SRT passphrase of the egress (prefer the env variable)',
  ],
  ['--bind-host <host>', 'bindHost', 'address to listen on (default 0.0.0.0)'],
  ['--ingest-port <n>', 'ingestPort', 'first SRT ingest port; link i uses port + 2i (default 9000)'],
  ['--ingest-ports <list>', 'ingestPorts', 'explicit comma-separated ingest ports, one per link'],
  ['--max-links <n>', 'maxLinks', 'number of ingest links (default 2)'],
  ['--egress-port <n>', 'egressPort', 'SRT egress port OBS pulls from (default 9001)'],
  [
    '--srtla-port <n>',
    'srtlaPort',
    'SRTLA receiver for bonding senders, in front of the first ingest port (default off)',
  ],
  [
    '--srtla-reorder-packets <n>',
    'srtlaReorderPackets',
    'reordering the first ingest listener tolerates when SRTLA is on (default 40)',
  ],
  [
    '--telemetry-port <n>',
    'telemetryPort',
    'telemetry WebSocket, /metrics and /healthz (default 7443; 0 = any)',
  ],
  ['--max-session-seconds <n>', 'maxSessionSeconds', 'self-destruct after serving this long (default 57600)'],
  ['--health-interval-ms <n>', 'healthIntervalMs', 'health report interval (default 10000)'],
  ['--stall-after-ms <n>', 'stallAfterMs', 'no packet for this long = stall (default 300)'],
  ['--orphan-after-s <n>', 'orphanAfterS', 'control plane unreachable this long … (default 900)'],
  ['--idle-after-s <n>', 'idleAfterS', '… and no ingest this long = orphaned, self-destruct (default 600)'],
  [
    '--ingest-latency-ms <n>',
    'ingestLatencyMs',
    'SRT receive latency of the ingest listeners (default SRT 120)',
  ],
  [
    '--relisten-after-stall-ms <n>',
    'relistenAfterStallMs',
    'give a silent link a fresh listener so its caller can reconnect (default 1500; 0 = never)',
  ],
  ['--shutdown-command <cmd>', 'shutdownCommand', 'run after self-destruct (AWS images: "shutdown -h now")'],
  ['--srt-live-transmit <path>', 'srtLiveTransmitPath', 'srt-live-transmit binary (default from PATH)'],
  ['--log-level <level>', 'logLevel', 'log level (default info)'],
];

function optionName(flag: string): string {
  const long = flag.split(' ')[0]?.slice(2) ?? '';
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `telemy relay`: the relay agent (packages/relay). */
export function registerRelay(program: Command): void {
  const cmd = program
    .command('relay')
    .description(
      'run the relay agent: SRT ingest and egress, telemetry WebSocket, health reports, self-destruct',
    );
  for (const [flag, key, help] of FLAGS) cmd.option(flag, `${help} [${RELAY_ENV[key]}]`);
  cmd
    .addHelpText(
      'after',
      '\nSecrets (credential, pair token, WebSocket token, egress passphrase) are best passed in the\n' +
        'environment: command lines are visible to every user of the host.',
    )
    .action(async (opts: Record<string, string | undefined>) => {
      const raw: Partial<Record<keyof RelayAgentConfig, string | undefined>> = {};
      for (const [flag, key] of FLAGS) raw[key] = opts[optionName(flag)] ?? process.env[RELAY_ENV[key]];
      const input = relayConfigFromStrings(raw);
      checkUsage(input);
      const log = createLogger('relay', { level: raw.logLevel ?? 'info', destination: process.stderr });
      const { startRelayAgent } = await import('@telemy/relay');
      const agent = await startRelayAgent(input, { log });
      const host = agent.config.bindHost;
      const a = agent.addresses;
      process.stdout.write(
        `telemy relay serving session ${agent.config.sessionId}: SRT ingest ${host}:${a.ingestPorts.join(',')}/udp, ` +
          (a.srtlaPort === null ? '' : `SRTLA ${host}:${a.srtlaPort}/udp, `) +
          `egress ${host}:${a.egressPort}/udp, telemetry ws://${host}:${a.telemetryPort}/telemetry ` +
          `(/metrics, /healthz on the same port)\n`,
      );
      const signalled = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const outcome = await Promise.race([agent.finished, signalled.then(() => null)]);
      if (outcome === null) await agent.close();
      else process.stdout.write(`telemy relay stopped: ${outcome.reason} (${outcome.detail})\n`);
    });
}

/**
 * A usage error (exit 2) before anything starts: the settings the agent cannot run without, each
 * named by its flag and variable, then any value the agent would refuse.
 */
function checkUsage(input: RelayAgentConfigInput): void {
  const result = RelayAgentConfigSchema.safeParse(input);
  if (result.success) return;
  const missing = new Set<string>();
  for (const issue of result.error.issues) {
    const key = issue.path[0] as keyof RelayAgentConfig | undefined;
    if (issue.path.length !== 1 || key === undefined || input[key] !== undefined) continue;
    const flag = FLAGS.find(([, k]) => k === key)?.[0].split(' ')[0];
    if (flag) missing.add(`${flag} (or ${RELAY_ENV[key]})`);
  }
  if (missing.size > 0)
    throw new CliError(
      `relay: missing ${[...missing].join(', ')}; \`telemy relay --help\` lists every setting`,
      2,
    );
  try {
    parseRelayConfig(input);
  } catch (err) {
    throw new CliError(`relay: ${err instanceof Error ? err.message : String(err)}`, 2);
  }
}
