import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  chooseRelayAddress,
  createLogger,
  LOCAL_RELAY_ENV,
  type Logger,
  type NetworkInterfaces,
  packageRoot,
  RELAY_BIND_ALL,
  type RelayAddressChoice,
  telemyPaths,
} from '@telemy/protocol';
import { processAlive } from '@telemy/protocol/pid-lock';
import { type RelayAgentConfigInput, relayConfigToEnv } from '@telemy/relay';
import { sessionAgentConfig } from './agent-config.js';
import type { RelayProviderDeps } from './registry.js';
import type {
  ListedRelayInstance,
  LocatedRelay,
  ProvisionedRelay,
  RelayManifestEntry,
  RelayProvider,
  RelayProvisionRequest,
} from './types.js';

const DEFAULT_CLI = path.join(packageRoot('@telemy/cli'), 'bin', 'telemy.js');

export interface LocalRelayProviderOptions {
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  /** The `telemy` entry point to run (`node <cli> relay`). */
  cliPath?: string;
  /** Where the registry of started relays and their logs live (default `<data>/relays`). */
  stateDir?: string;
  /** How long a new relay has to answer /healthz. */
  readyTimeoutMs?: number;
  maxLinks?: number;
  /** Extra agent settings (tests shorten stall and health timings). */
  agentOverrides?: Partial<RelayAgentConfigInput>;
  /** Where relays listen (`[relay] bind_host`); default `TELEMY_LOCAL_RELAY_BIND_HOST`, then every interface. */
  bindHost?: string;
  /** The address handed to the phone (`[relay] public_host`); default `TELEMY_LOCAL_RELAY_PUBLIC_HOST`, then chosen. */
  publicHost?: string;
  /** The machine's interfaces, read at each provisioning (tests inject them). */
  interfaces?: () => NetworkInterfaces;
}

interface StartedRelay {
  instance_id: string;
  session_id: string;
  pid: number;
  ws_port: number;
  /** The first ingest port and the egress port the agent was given (absent in older registries). */
  srt_port?: number;
  egress_port?: number;
  /** The SRTLA port (absent in older registries: those relays ran no SRTLA receiver). */
  srtla_port?: number;
  /** The address the relay was advertised on (absent in older registries: those served 127.0.0.1). */
  public_host?: string;
  started_at: string;
}

export const LOCAL_REGION = 'local';

/** Probed on the address the relay will listen on: a port free on loopback may be taken on another. */
async function freeUdpPort(host: string): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function freeTcpPort(host: string): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Guards against pid reuse: on Linux the command line must still name our instance. */
function isOurRelay(r: StartedRelay): boolean {
  if (!processAlive(r.pid)) return false;
  try {
    return fs.readFileSync(`/proc/${r.pid}/cmdline`, 'utf8').includes(r.instance_id);
  } catch {
    return process.platform !== 'linux';
  }
}

function addressOf(r: StartedRelay): ProvisionedRelay | null {
  if (r.srt_port === undefined || r.egress_port === undefined) return null;
  return {
    instance_id: r.instance_id,
    public_ip: r.public_host ?? '127.0.0.1',
    srt_port: r.srt_port,
    egress_port: r.egress_port,
    ws_port: r.ws_port,
    ...(r.srtla_port === undefined ? {} : { srtla_port: r.srtla_port }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The `local` provider: each relay is a `telemy relay` child process with free ports, listening on
 * `bind_host` (every interface by default, so a phone on the same network reaches it) and advertised
 * on `public_host` (see `chooseRelayAddress`). Relays run in their own process group and outlive the control plane
 * (an engine restart must find its relay still serving), so the provider keeps a small registry
 * file of what it started; `list()` and `deprovision()` work from it after a restart too.
 */
export class LocalRelayProvider implements RelayProvider {
  readonly name = 'local';
  readonly defaultManifest: readonly RelayManifestEntry[] = [
    { region: LOCAL_REGION, image_id: 'local-process', default_instance_type: 'process' },
  ];
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private readonly dir: string;
  private readonly registryFile: string;

  constructor(private readonly opts: LocalRelayProviderOptions = {}) {
    this.env = opts.env ?? process.env;
    this.log = opts.log ?? createLogger('provider-local');
    this.dir = opts.stateDir ?? path.join(telemyPaths(this.env).data, 'relays');
    this.registryFile = path.join(this.dir, 'local-relays.json');
  }

  /** Where the next relay listens and which address it is advertised on, and why. */
  address(): RelayAddressChoice {
    const setting = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
    return chooseRelayAddress({
      bindHost: this.opts.bindHost ?? setting(this.env[LOCAL_RELAY_ENV.bindHost]),
      publicHost: this.opts.publicHost ?? setting(this.env[LOCAL_RELAY_ENV.publicHost]),
      interfaces: (this.opts.interfaces ?? os.networkInterfaces)(),
    });
  }

  async provision(req: RelayProvisionRequest): Promise<ProvisionedRelay> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const instance_id = `local-${randomBytes(6).toString('hex')}`;
    const where = this.address();
    const maxLinks = this.opts.maxLinks ?? 2;
    const ingestPorts: number[] = [];
    for (let i = 0; i < maxLinks; i++) ingestPorts.push(await freeUdpPort(where.bind_host));
    const egressPort = await freeUdpPort(where.bind_host);
    // Bonding phones send SRTLA: every local relay takes them next to plain SRT callers.
    const srtlaPort = await freeUdpPort(where.bind_host);
    const wsPort = await freeTcpPort(where.bind_host);
    const agent: RelayAgentConfigInput = {
      ...sessionAgentConfig(req),
      instanceId: instance_id,
      bindHost: where.bind_host,
      ingestPorts,
      maxLinks,
      egressPort,
      srtlaPort,
      telemetryPort: wsPort,
      ...this.opts.agentOverrides,
    };
    const logFile = path.join(this.dir, `${instance_id}.log`);
    const out = fs.openSync(logFile, 'a', 0o600);
    // Secrets travel in the environment; only the (non-secret) ids go on the command line.
    const child = spawn(
      process.execPath,
      [
        this.opts.cliPath ?? DEFAULT_CLI,
        'relay',
        '--instance-id',
        instance_id,
        '--session-id',
        req.session_id,
      ],
      {
        env: { ...this.env, ...relayConfigToEnv(agent) },
        stdio: ['ignore', out, out],
        detached: true,
      },
    );
    fs.closeSync(out);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('local relay: could not start a process');
    const started: StartedRelay = {
      instance_id,
      session_id: req.session_id,
      pid,
      ws_port: wsPort,
      srt_port: ingestPorts[0] as number,
      egress_port: egressPort,
      srtla_port: srtlaPort,
      public_host: where.public_host,
      started_at: new Date().toISOString(),
    };
    this.writeRegistry([...this.readRegistry(), started]);
    let exitCode: number | null | undefined;
    child.once('exit', (code) => {
      exitCode = code;
    });
    try {
      // Asked where it listens: a relay bound to one address does not answer on loopback.
      const probeHost = where.bind_host === RELAY_BIND_ALL ? '127.0.0.1' : where.bind_host;
      await this.waitReady(
        probeHost,
        wsPort,
        () => exitCode !== undefined,
        this.opts.readyTimeoutMs ?? 30_000,
      );
    } catch (err) {
      await this.deprovision(instance_id);
      const tail = this.logTail(logFile);
      throw new Error(`${(err as Error).message}${tail ? `; relay log: ${tail}` : ''}`);
    }
    this.log.info(
      {
        instance_id,
        session_id: req.session_id,
        pid,
        bind_host: where.bind_host,
        public_host: where.public_host,
        why: where.reason,
      },
      'local relay provisioned',
    );
    return addressOf(started) as ProvisionedRelay;
  }

  async deprovision(instanceId: string, _region: string = LOCAL_REGION): Promise<void> {
    const entry = this.readRegistry().find((r) => r.instance_id === instanceId);
    if (entry && isOurRelay(entry)) {
      this.signalGroup(entry.pid, 'SIGTERM');
      const deadline = Date.now() + 5_000;
      while (processAlive(entry.pid) && Date.now() < deadline) await sleep(50);
      if (processAlive(entry.pid)) this.signalGroup(entry.pid, 'SIGKILL');
      while (processAlive(entry.pid) && Date.now() < deadline + 2_000) await sleep(50);
    }
    this.writeRegistry(this.readRegistry().filter((r) => r.instance_id !== instanceId));
    if (entry) this.log.info({ instance_id: instanceId, pid: entry.pid }, 'local relay deprovisioned');
  }

  async list(): Promise<ListedRelayInstance[]> {
    return this.readRegistry()
      .filter(isOurRelay)
      .map((r) => ({
        instance_id: r.instance_id,
        session_id: r.session_id,
        region: LOCAL_REGION,
        state: 'running',
      }));
  }

  /**
   * A live relay from the registry, with the addresses it was started on. Works for relays another provider instance (a control plane that has since died)
   * started in the same data folder.
   */
  async locate(instanceId: string): Promise<LocatedRelay | null> {
    const entry = this.readRegistry().find((r) => r.instance_id === instanceId);
    if (!entry || !isOurRelay(entry)) return null;
    const relay = addressOf(entry);
    return relay ? { ...relay, session_id: entry.session_id } : null;
  }

  /** The pid of a relay this provider started (tests and the e2e scenario kill it directly). */
  pidOf(instanceId: string): number | null {
    return this.readRegistry().find((r) => r.instance_id === instanceId)?.pid ?? null;
  }

  private signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
      // The relay leads its own group: its srt-live-transmit children go with it.
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone: exactly what deprovision wants.
      }
    }
  }

  private async waitReady(
    host: string,
    port: number,
    exited: () => boolean,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited()) throw new Error('local relay exited before it answered /healthz');
      try {
        const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    throw new Error(`local relay did not answer /healthz within ${timeoutMs} ms`);
  }

  private readRegistry(): StartedRelay[] {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(this.registryFile, 'utf8'));
      return Array.isArray(parsed) ? (parsed as StartedRelay[]) : [];
    } catch {
      return [];
    }
  }

  private writeRegistry(entries: StartedRelay[]): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.registryFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(entries, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.registryFile);
  }

  private logTail(file: string): string {
    try {
      return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 600);
    } catch {
      return '';
    }
  }
}

/** Factory for the control plane's provider registry (`TELEMY_RELAY_PROVIDER=local`). */
export function createLocalRelayProvider(deps: RelayProviderDeps): LocalRelayProvider {
  return new LocalRelayProvider({ env: deps.env, log: deps.log });
}
