import type { ListedRelayInstance, ProvisionedRelay, RelayProvider, RelayProvisionRequest } from './types.js';

/**
 * An in-process provider that launches nothing: tests and development drive the relay side
 * themselves (health reports with the credential it captured). Failures can be injected.
 */
export class FakeRelayProvider implements RelayProvider {
  readonly name: string;
  readonly defaultManifest = [{ region: 'local', image_id: 'none', default_instance_type: 'fake' }];
  readonly instances = new Map<string, ListedRelayInstance & { request: RelayProvisionRequest }>();
  readonly provisioned: RelayProvisionRequest[] = [];
  readonly deprovisioned: string[] = [];
  /** Set to make the next provision/deprovision calls fail. */
  failProvision: Error | null = null;
  failDeprovision: Error | null = null;
  /** Delay before provision resolves, in ms. */
  provisionDelayMs = 0;
  private seq = 0;

  constructor(name = 'fake') {
    this.name = name;
  }

  async provision(req: RelayProvisionRequest): Promise<ProvisionedRelay> {
    this.provisioned.push(req);
    if (this.provisionDelayMs > 0) await new Promise((r) => setTimeout(r, this.provisionDelayMs));
    if (this.failProvision) throw this.failProvision;
    this.seq += 1;
    const instance_id = `fake-${this.seq}-${req.session_id.slice(4, 12)}`;
    this.instances.set(instance_id, {
      instance_id,
      session_id: req.session_id,
      region: req.region,
      state: 'running',
      request: req,
    });
    return {
      instance_id,
      public_ip: '127.0.0.1',
      srt_port: 40_000 + this.seq,
      egress_port: 41_000 + this.seq,
      ws_port: 42_000 + this.seq,
    };
  }

  async deprovision(instanceId: string): Promise<void> {
    if (this.failDeprovision) throw this.failDeprovision;
    this.deprovisioned.push(instanceId);
    this.instances.delete(instanceId);
  }

  async list(): Promise<ListedRelayInstance[]> {
    return [...this.instances.values()].map(({ request: _r, ...i }) => i);
  }

  /** The agent configuration handed over for a session (what a real relay would receive). */
  agentFor(sessionId: string): RelayProvisionRequest['agent'] | undefined {
    return this.provisioned.find((p) => p.session_id === sessionId)?.agent;
  }

  instanceFor(sessionId: string): string | undefined {
    return [...this.instances.values()].find((i) => i.session_id === sessionId)?.instance_id;
  }
}
