import type {
  ListedRelayInstance,
  LocatedRelay,
  ProvisionedRelay,
  RelayProvider,
  RelayProvisionRequest,
} from './types.js';

/**
 * An in-process provider that launches nothing: tests and development drive the relay side
 * themselves (health reports with the credential it captured). Failures can be injected.
 */
export class FakeRelayProvider implements RelayProvider {
  readonly name: string;
  readonly defaultManifest = [{ region: 'local', image_id: 'none', default_instance_type: 'fake' }];
  readonly instances = new Map<
    string,
    ListedRelayInstance & { request: RelayProvisionRequest; relay?: ProvisionedRelay }
  >();
  readonly provisioned: RelayProvisionRequest[] = [];
  readonly deprovisioned: string[] = [];
  /** Set to make the next provision/deprovision calls fail. */
  failProvision: Error | null = null;
  failDeprovision: Error | null = null;
  /** Delay before provision resolves, in ms. */
  provisionDelayMs = 0;
  /** Awaited before a launch's instance exists (tests hold a launch that has not launched yet). */
  beforeLaunch: ((req: RelayProvisionRequest) => Promise<void>) | null = null;
  /** Awaited once the instance exists, before provision() returns (its relay runs, unrecorded). */
  afterLaunch: ((req: RelayProvisionRequest) => Promise<void>) | null = null;
  private seq = 0;

  constructor(name = 'fake') {
    this.name = name;
  }

  async provision(req: RelayProvisionRequest): Promise<ProvisionedRelay> {
    this.provisioned.push(req);
    if (this.provisionDelayMs > 0) await new Promise((r) => setTimeout(r, this.provisionDelayMs));
    if (this.failProvision) throw this.failProvision;
    await this.beforeLaunch?.(req);
    this.seq += 1;
    const instance_id = `fake-${this.seq}-${req.session_id.slice(4, 12)}`;
    const relay: ProvisionedRelay = {
      instance_id,
      public_ip: '127.0.0.1',
      srt_port: 40_000 + this.seq,
      egress_port: 41_000 + this.seq,
      ws_port: 42_000 + this.seq,
      srtla_port: 43_000 + this.seq,
    };
    this.instances.set(instance_id, {
      instance_id,
      session_id: req.session_id,
      region: req.region,
      state: 'running',
      request: req,
      relay,
    });
    await this.afterLaunch?.(req);
    return relay;
  }

  async deprovision(instanceId: string): Promise<void> {
    if (this.failDeprovision) throw this.failDeprovision;
    this.deprovisioned.push(instanceId);
    this.instances.delete(instanceId);
  }

  async list(): Promise<ListedRelayInstance[]> {
    return [...this.instances.values()].map(({ request: _r, relay: _a, ...i }) => i);
  }

  async locate(instanceId: string): Promise<LocatedRelay | null> {
    const i = this.instances.get(instanceId);
    return i?.relay ? { ...i.relay, session_id: i.session_id } : null;
  }

  /** The agent configuration handed over for a session's latest launch (what its relay received). */
  agentFor(sessionId: string): RelayProvisionRequest['agent'] | undefined {
    return this.provisioned.findLast((p) => p.session_id === sessionId)?.agent;
  }

  instanceFor(sessionId: string): string | undefined {
    return [...this.instances.values()].find((i) => i.session_id === sessionId)?.instance_id;
  }
}
