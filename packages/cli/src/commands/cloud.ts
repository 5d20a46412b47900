import { setTimeout as sleep } from 'node:timers/promises';
import type { Session } from '@telemy/engine';
import { LOCAL_ACCESS_TOKEN_KEY } from '@telemy/engine/vault';
import { createLogger } from '@telemy/protocol';
import { lockOwner } from '@telemy/protocol/pid-lock';
import type { Command } from 'commander';
import {
  CliError,
  engineOriginFromNote,
  globals,
  loadCliConfig,
  openCliVault,
  startLockFile,
} from '../context.js';
import { READY_TIMEOUT_MS } from '../embedded-cloud.js';

interface CloudOpts {
  baseUrl?: string;
  json?: boolean;
}

/**
 * What `telemy cloud` does, whichever way it reaches the session: straight to a control plane
 * (remote mode, or `--base-url`), or through the running engine (embedded mode: the control plane
 * is a child process of the engine that `telemy start` runs, and the engine's CloudLink owns the
 * session).
 */
interface CloudCommands {
  start(region: string): Promise<{ created: boolean; session: Session }>;
  stop(sessionId: string): Promise<{ session_id: string; stopped_at: string | null }>;
  /** Pairing secrets (credentials, passphrases) only when `reveal`. */
  active(reveal: boolean): Promise<Session | null>;
}

/** `telemy cloud start|stop|active`: CloudLink from the command line. */
export function registerCloud(program: Command): void {
  const cloud = program
    .command('cloud')
    .description('start, stop and inspect the cloud relay session on the control plane');

  cloud
    .command('start')
    .description('request a relay session (returns the running one if there is one)')
    .option('--base-url <url>', 'control plane URL (default: [cloud] base_url)')
    .option('--region <region>', 'region preference (default: [cloud] region_preference)')
    .option('--wait [seconds]', 'wait until the relay is active (default 330 s)')
    .option('--json', 'print the session as JSON (without secrets)')
    .action(async (opts: CloudOpts & { region?: string; wait?: string | true }, cmd: Command) => {
      const { client, config } = await cloudClient(cmd, opts);
      const res = await client.start(opts.region ?? config.cloud.region_preference);
      let session = res.session;
      if (opts.wait !== undefined) session = await waitActive(client, session, waitSeconds(opts.wait));
      if (opts.json) return printJson(session, false);
      const how = res.created ? 'created' : 'already running';
      process.stdout.write(`session ${session.session_id} ${session.status} (${how})\n`);
      if (session.status === 'active') process.stdout.write(describe(session, false));
    });

  cloud
    .command('stop')
    .description('stop the relay session')
    .option('--base-url <url>', 'control plane URL (default: [cloud] base_url)')
    .option('--session <id>', 'session to stop (default: the active one)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: CloudOpts & { session?: string }, cmd: Command) => {
      const { client } = await cloudClient(cmd, opts);
      const id = opts.session ?? (await client.active(false))?.session_id;
      if (!id) {
        if (opts.json) process.stdout.write('null\n');
        else process.stdout.write('no active relay session\n');
        return;
      }
      const res = await client.stop(id);
      if (opts.json) process.stdout.write(`${JSON.stringify(res)}\n`);
      else
        process.stdout.write(
          `session ${res.session_id} stopped${res.stopped_at ? ` at ${res.stopped_at}` : ''}\n`,
        );
    });

  cloud
    .command('active')
    .description('show the running relay session and its pairing details')
    .option('--base-url <url>', 'control plane URL (default: [cloud] base_url)')
    .option('--reveal', 'show the pairing secrets (passphrases in the SRT URLs)')
    .option('--qr', 'print the phone SRT URL as a QR code (needs --reveal: the code carries the passphrase)')
    .option('--json', 'print the session as JSON (secrets only with --reveal)')
    .action(async (opts: CloudOpts & { reveal?: boolean; qr?: boolean }, cmd: Command) => {
      if (opts.qr && !opts.reveal) {
        throw new CliError('--qr shows the phone passphrase as a QR code; add --reveal to confirm', 2);
      }
      const { client, config } = await cloudClient(cmd, opts);
      const session = await client.active(opts.reveal === true);
      if (!session) {
        process.stdout.write(opts.json ? 'null\n' : 'no active relay session\n');
        return;
      }
      if (opts.json) return printJson(session, opts.reveal === true);
      process.stdout.write(`session ${session.session_id} ${session.status}\n`);
      const ip = session.relay.public_ip;
      // `--base-url` reaches a hosted control plane whatever the config's mode says.
      const mode = opts.baseUrl ? 'remote' : config.cloud.mode;
      const why = ip
        ? (await import('@telemy/engine')).relayAddressReason(ip, {
            ...config,
            cloud: { ...config.cloud, mode },
          })
        : null;
      process.stdout.write(describe(session, opts.reveal === true, why));
      const srtUrl = session.ingest.srt_url;
      if (opts.qr) {
        if (!srtUrl)
          throw new CliError('the relay has no phone URL yet (still provisioning); try again shortly');
        const { renderQrForTerminal } = await import('@telemy/engine');
        process.stdout.write(`\n${await renderQrForTerminal(srtUrl)}\n`);
      }
    });
}

async function cloudClient(
  cmd: Command,
  opts: CloudOpts,
): Promise<{ client: CloudCommands; config: ReturnType<typeof loadCliConfig>['config'] }> {
  const { config } = loadCliConfig(cmd);
  if (config.cloud.mode === 'off' && !opts.baseUrl) {
    throw new CliError(
      'the cloud is off in the config ([cloud] mode = "off"); pass --base-url to use one anyway',
      2,
    );
  }
  const engine = lockOwner(startLockFile());
  if (config.cloud.mode === 'embedded' && !opts.baseUrl && !engine) {
    throw new CliError(
      'engine not running: in embedded mode the relay session runs in the engine; start it with `telemy start`',
    );
  }
  const vault = await openCliVault();
  if (config.cloud.mode === 'embedded' && !opts.baseUrl) {
    const token = vault.get(LOCAL_ACCESS_TOKEN_KEY);
    if (!token) throw new CliError('Telemy has not run yet here: start it with `telemy start`', 2);
    const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
    const origin = engineOriginFromNote(engine?.note) ?? `http://${host}:${config.server.port}`;
    return { client: new EngineRelayApi(origin, token), config };
  }
  const baseUrl = opts.baseUrl ?? config.cloud.base_url;
  if (!baseUrl) {
    throw new CliError(
      'no control-plane URL: set [cloud] base_url (or TELEMY_CLOUD_BASE_URL), or pass --base-url',
      2,
    );
  }
  try {
    new URL(baseUrl);
  } catch {
    throw new CliError(`invalid control-plane URL "${baseUrl}"`, 2);
  }
  const keyName = config.cloud.api_key_key;
  const apiKey = vault.get(keyName);
  if (!apiKey) {
    throw new CliError(
      `no API key in the vault under "${keyName}": store it with \`telemy vault set ${keyName}\``,
      2,
    );
  }
  // Logs go to stderr so that stdout stays the command's result (--json is parsed by scripts).
  const logger = createLogger('cloud', {
    level: globals(cmd).verbose ? 'debug' : 'error',
    destination: process.stderr,
  });
  // Loaded here, not at the top: every `telemy` command would otherwise load the whole engine.
  const { ControlPlaneClient } = await import('@telemy/engine');
  const api = new ControlPlaneClient({ baseUrl, getSecret: () => apiKey, logger });
  return {
    client: {
      async start(region) {
        const res = await api.start({ region_preference: region, requested_by: 'cli' });
        return { created: res.status === 201, session: res.session };
      },
      async stop(id) {
        return api.stop(id, 'user_requested');
      },
      active: () => api.active(),
    },
    config,
  };
}

/**
 * How long the engine may take to answer. A start may first spawn the embedded control plane, which
 * the engine waits for up to its own ready timeout: the CLI waits a little longer than that.
 */
export const ANSWER_TIMEOUTS = { startMs: READY_TIMEOUT_MS + 10_000, otherMs: 30_000 };

/** The running engine's relay routes (`GET /api/relay`, `POST /api/relay/start|stop`). */
export class EngineRelayApi implements CloudCommands {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly timeouts = ANSWER_TIMEOUTS,
  ) {}

  async start(): Promise<{ created: boolean; session: Session }> {
    const { status, body } = await this.call('POST', '/api/relay/start', this.timeouts.startMs);
    return { created: status === 201, session: (body as { session: Session }).session };
  }

  async stop(): Promise<{ session_id: string; stopped_at: string | null }> {
    const { body } = await this.call('POST', '/api/relay/stop', this.timeouts.otherMs);
    return body as { session_id: string; stopped_at: string | null };
  }

  async active(reveal: boolean): Promise<Session | null> {
    const { body } = await this.call(
      'GET',
      `/api/relay${reveal ? '?reveal=true' : ''}`,
      this.timeouts.otherMs,
    );
    return (body as { session: Session | null }).session;
  }

  private async call(
    method: 'GET' | 'POST',
    route: string,
    timeoutMs: number,
  ): Promise<{ status: number; body: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        ...(method === 'POST' ? { body: '{}' } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // A slow answer is not a missing engine: saying "not running" would send the user to start
      // a second one.
      if (err instanceof Error && err.name === 'TimeoutError') {
        throw new CliError(
          `Telemy at ${this.base} did not answer within ${timeoutMs / 1000} s; it is running but busy (see its log), try again`,
        );
      }
      throw new CliError(
        `Telemy is not running at ${this.base} (embedded mode: the control plane runs with \`telemy start\`)`,
      );
    }
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const message = (body as { error?: { message?: string } } | null)?.error?.message;
      throw new CliError(message ?? `the engine answered HTTP ${res.status}`);
    }
    return { status: res.status, body };
  }
}

function waitSeconds(v: string | true): number {
  if (v === true) return 330;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`--wait needs a positive number of seconds, got "${v}"`, 2);
  return n;
}

async function waitActive(client: CloudCommands, first: Session, seconds: number): Promise<Session> {
  const deadline = Date.now() + seconds * 1000;
  let s: Session | null = first;
  while (s && s.status === 'provisioning') {
    if (Date.now() >= deadline) {
      throw new CliError(`session ${first.session_id} still provisioning after ${seconds} s`);
    }
    await sleep(500);
    s = await client.active(false);
  }
  if (!s)
    throw new CliError(`session ${first.session_id} ended while provisioning (see the control plane's logs)`);
  return s;
}

/** Passphrases inside SRT URLs are secrets: shown only on request. */
function maskUrl(url: string, reveal: boolean): string {
  return reveal ? url : url.replace(/(passphrase=)[^&]*/gi, '$1****');
}

/** `addressReason`: why the phone is given the relay's address (`relayAddressReason`). */
function describe(s: Session, reveal: boolean, addressReason: string | null = null): string {
  const lines: string[] = [];
  if (s.region) lines.push(`  region:        ${s.region}`);
  if (s.relay.public_ip) {
    lines.push(
      `  relay:         ${s.relay.public_ip} (ingest ${s.relay.srt_port}, egress ${s.relay.egress_port})`,
    );
    if (addressReason) lines.push(`  phone address: ${s.relay.public_ip} (${addressReason})`);
  }
  lines.push(`  started:       ${s.usage.started_at}`);
  lines.push(`  duration:      ${s.usage.duration_seconds} s`);
  lines.push(`  time left:     ${s.timers.max_session_remaining_seconds} s`);
  if (s.status === 'grace' && s.timers.grace_remaining_seconds !== null) {
    lines.push(`  grace left:    ${s.timers.grace_remaining_seconds} s`);
  }
  if (s.bonded) {
    const b = s.bonded;
    lines.push(
      `  bonded:        ${b.total_bitrate_kbps} kb/s over ${b.active_link_count} link(s), ${b.health}`,
    );
  }
  for (const l of s.links) {
    lines.push(
      `  link ${l.label || l.link_id}: ${l.status}, ${l.bitrate_kbps} kb/s, rtt ${l.rtt_ms ?? '?'} ms, loss ${l.packet_loss_pct ?? '?'} %`,
    );
  }
  if (s.ingest.srt_url) lines.push(`  phone SRT URL: ${maskUrl(s.ingest.srt_url, reveal)}`);
  if (s.ingest.srtla_url)
    lines.push(`  bonding (SRTLA): ${maskUrl(s.ingest.srtla_url, reveal)}  (BELABOX, Moblin, IRL Pro)`);
  if (s.ingest.obs_source_url) lines.push(`  OBS source:    ${maskUrl(s.ingest.obs_source_url, reveal)}`);
  if (!reveal && s.ingest.srt_url)
    lines.push('  (passphrases hidden; --reveal shows them, --reveal --qr prints a QR code)');
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function printJson(s: Session, reveal: boolean): void {
  const out = {
    ...s,
    credentials: reveal ? s.credentials : undefined,
    ingest: s.ingest
      ? {
          srt_url: s.ingest.srt_url && maskUrl(s.ingest.srt_url, reveal),
          srtla_url: s.ingest.srtla_url ? maskUrl(s.ingest.srtla_url, reveal) : (s.ingest.srtla_url ?? null),
          obs_source_url: s.ingest.obs_source_url && maskUrl(s.ingest.obs_source_url, reveal),
        }
      : null,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
