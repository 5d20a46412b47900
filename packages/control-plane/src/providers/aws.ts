import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { createLogger, type Logger } from '@telemy/protocol';
import type { RelayAgentConfigInput } from '@telemy/relay';
import { Registry } from 'prom-client';
import { sessionAgentConfig } from './agent-config.js';
import {
  type AwsCallDeps,
  type AwsMetrics,
  AwsOperationError,
  type AwsRetryPolicy,
  awsMetrics,
  callAws,
  DEFAULT_AWS_RETRY,
  isAlreadyGone,
} from './aws-retry.js';
import { CLOUD_INIT_TEMPLATE_PATH, renderRelayCloudConfig } from './aws-user-data.js';
import type { RelayProviderDeps } from './registry.js';
import type {
  ListedRelayInstance,
  LocatedRelay,
  ProvisionedRelay,
  RelayProvider,
  RelayProvisionRequest,
} from './types.js';

export const MANAGED_TAG = 'telemy:managed';
export const SESSION_TAG = 'telemy:session_id';
export const USER_TAG = 'telemy:user_id';
export const DEFAULT_INSTANCE_TYPE = 't4g.small';
export const DEFAULT_SECURITY_GROUP_NAME = 'telemy-relay';

export interface RelayPorts {
  ingestPort: number;
  maxLinks: number;
  egressPort: number;
  telemetryPort: number;
  /** The SRTLA receiver for bonding senders (null = none). */
  srtlaPort: number | null;
}

export interface AwsRelayProviderOptions {
  /** Regions `list()` sweeps (provision/deprovision use the region they are given). */
  regions: string[];
  registry?: Registry;
  log?: Logger;
  /** One EC2 client per region; tests inject mocked ones. Default: SDK retries off (ours apply). */
  clientFor?: (region: string) => EC2Client;
  defaultInstanceType?: string;
  /**
   * An operator-managed security group (e.g. from Terraform). Without it the provider looks up the
   * group named `securityGroupName` in the region's default VPC and creates it when missing.
   */
  securityGroupId?: string;
  securityGroupName?: string;
  subnetId?: string;
  ports?: Partial<RelayPorts>;
  retry?: Partial<AwsRetryPolicy>;
  /** Bound on waiting for `running` and a public IP after launch. */
  launchTimeoutMs?: number;
  pollIntervalMs?: number;
  templatePath?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];
const ENDED_STATES = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

/**
 * The `aws` provider: one EC2 instance per session launched from the manifest's image for the
 * region, idempotent through `ClientToken` = session id (and attempt), tagged as ours, terminating
 * itself on shutdown, configured by cloud-init user-data. Any failure after launch terminates the
 * instance so nothing leaks.
 */
export class AwsRelayProvider implements RelayProvider {
  readonly name = 'aws';
  private readonly log: Logger;
  private readonly clients = new Map<string, EC2Client>();
  private readonly groups = new Map<string, string>();
  private readonly ports: RelayPorts;
  private readonly call: AwsCallDeps;
  readonly metrics: AwsMetrics;

  constructor(private readonly opts: AwsRelayProviderOptions) {
    this.log = opts.log ?? createLogger('provider-aws');
    this.ports = {
      ingestPort: 9000,
      maxLinks: 2,
      egressPort: 9001,
      telemetryPort: 7443,
      srtlaPort: 5000,
      ...opts.ports,
    };
    this.metrics = awsMetrics(opts.registry ?? new Registry());
    this.call = {
      metrics: this.metrics,
      policy: { ...DEFAULT_AWS_RETRY, ...opts.retry },
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
    };
  }

  private client(region: string): EC2Client {
    let c = this.clients.get(region);
    if (!c) {
      c = this.opts.clientFor ? this.opts.clientFor(region) : new EC2Client({ region, maxAttempts: 1 });
      this.clients.set(region, c);
    }
    return c;
  }

  /** The agent configuration the instance receives (its instance id is filled in on the host). */
  agentConfig(req: RelayProvisionRequest): Partial<RelayAgentConfigInput> {
    return {
      ...sessionAgentConfig(req),
      bindHost: '0.0.0.0',
      ingestPort: this.ports.ingestPort,
      maxLinks: this.ports.maxLinks,
      egressPort: this.ports.egressPort,
      telemetryPort: this.ports.telemetryPort,
      srtlaPort: this.ports.srtlaPort,
      shutdownCommand: 'shutdown -h now',
    };
  }

  async provision(req: RelayProvisionRequest): Promise<ProvisionedRelay> {
    const region = req.region;
    const ec2 = this.client(region);
    const groupId = await this.securityGroup(region);
    const userData = Buffer.from(
      renderRelayCloudConfig(this.agentConfig(req), this.opts.templatePath ?? CLOUD_INIT_TEMPLATE_PATH),
    ).toString('base64');
    const tags = [
      { Key: MANAGED_TAG, Value: 'true' },
      { Key: SESSION_TAG, Value: req.session_id },
      { Key: USER_TAG, Value: req.user_id },
      { Key: 'Name', Value: `telemy-relay-${req.session_id}` },
    ];
    const run = await callAws(
      'RunInstances',
      region,
      () =>
        ec2.send(
          new RunInstancesCommand({
            ImageId: req.image_id,
            InstanceType: (req.instance_type ||
              this.opts.defaultInstanceType ||
              DEFAULT_INSTANCE_TYPE) as never,
            MinCount: 1,
            MaxCount: 1,
            // Same token on every retry: EC2 launches at most one instance per session and attempt
            // (a resumed launch carries a new credential, so it is another request).
            ClientToken: (req.attempt ?? 1) > 1 ? `${req.session_id}-${req.attempt}` : req.session_id,
            InstanceInitiatedShutdownBehavior: 'terminate',
            UserData: userData,
            ...(this.opts.subnetId
              ? {
                  NetworkInterfaces: [
                    {
                      DeviceIndex: 0,
                      SubnetId: this.opts.subnetId,
                      Groups: [groupId],
                      AssociatePublicIpAddress: true,
                    },
                  ],
                }
              : { SecurityGroupIds: [groupId] }),
            TagSpecifications: [
              { ResourceType: 'instance', Tags: tags },
              { ResourceType: 'volume', Tags: tags },
            ],
          }),
        ),
      this.call,
    );
    const instanceId = run.Instances?.[0]?.InstanceId;
    if (!instanceId)
      throw new Error(`EC2 RunInstances in ${region} returned no instance for ${req.session_id}`);
    this.log.info({ instance_id: instanceId, region, session_id: req.session_id }, 'relay instance launched');
    try {
      const instance = await this.waitForPublicIp(region, instanceId);
      return {
        instance_id: instanceId,
        public_ip: instance.PublicIpAddress as string,
        srt_port: this.ports.ingestPort,
        egress_port: this.ports.egressPort,
        ws_port: this.ports.telemetryPort,
        ...this.srtlaPortField(),
      };
    } catch (err) {
      this.log.error(
        { instance_id: instanceId, region, err: (err as Error).message },
        'relay instance failed after launch; terminating it',
      );
      await this.deprovision(instanceId, region).catch((e: Error) =>
        this.log.error(
          { instance_id: instanceId, region, err: e.message },
          'terminate after a failed launch failed',
        ),
      );
      throw err;
    }
  }

  private async waitForPublicIp(region: string, instanceId: string): Promise<Instance> {
    const ec2 = this.client(region);
    const deadline = this.call.now() + (this.opts.launchTimeoutMs ?? 180_000);
    for (;;) {
      let instance: Instance | undefined;
      try {
        const out = await callAws(
          'DescribeInstances',
          region,
          () => ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })),
          this.call,
        );
        instance = out.Reservations?.[0]?.Instances?.[0];
      } catch (err) {
        // A just-launched id can be unknown to DescribeInstances for a moment (eventual consistency).
        if (!(err instanceof AwsOperationError && err.code === 'InvalidInstanceID.NotFound')) throw err;
      }
      const state = instance?.State?.Name;
      if (state && ENDED_STATES.has(state)) {
        throw new Error(
          `relay instance ${instanceId} went ${state} while starting (${instance?.StateReason?.Message ?? 'no reason given'})`,
        );
      }
      if (state === 'running' && instance?.PublicIpAddress) return instance;
      if (this.call.now() >= deadline) {
        throw new Error(
          `relay instance ${instanceId} in ${region} was not running with a public IP within ${this.opts.launchTimeoutMs ?? 180_000} ms (state ${state ?? 'unknown'})`,
        );
      }
      await this.call.sleep(this.opts.pollIntervalMs ?? 3_000);
    }
  }

  async deprovision(instanceId: string, region: string): Promise<void> {
    try {
      await callAws(
        'TerminateInstances',
        region,
        () => this.client(region).send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })),
        this.call,
      );
      this.log.info({ instance_id: instanceId, region }, 'relay instance terminating');
    } catch (err) {
      if (isAlreadyGone(err instanceof AwsOperationError ? err.cause : err)) {
        this.log.info({ instance_id: instanceId, region }, 'relay instance already gone');
        return;
      }
      throw err;
    }
  }

  /** A running instance of ours with its public IP and its session tag; the ports are this provider's. */
  async locate(instanceId: string, region: string): Promise<LocatedRelay | null> {
    let instance: Instance | undefined;
    try {
      const out = await callAws(
        'DescribeInstances',
        region,
        () => this.client(region).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })),
        this.call,
      );
      instance = out.Reservations?.[0]?.Instances?.[0];
    } catch (err) {
      if (err instanceof AwsOperationError && /^InvalidInstanceID\./.test(err.code)) return null;
      throw err;
    }
    const tag = (k: string) => instance?.Tags?.find((t) => t.Key === k)?.Value;
    if (!instance?.PublicIpAddress || instance.State?.Name !== 'running' || tag(MANAGED_TAG) !== 'true') {
      return null;
    }
    return {
      instance_id: instanceId,
      session_id: tag(SESSION_TAG) ?? null,
      public_ip: instance.PublicIpAddress,
      srt_port: this.ports.ingestPort,
      egress_port: this.ports.egressPort,
      ws_port: this.ports.telemetryPort,
      ...this.srtlaPortField(),
    };
  }

  private srtlaPortField(): { srtla_port?: number } {
    return this.ports.srtlaPort === null ? {} : { srtla_port: this.ports.srtlaPort };
  }

  async list(): Promise<ListedRelayInstance[]> {
    const out: ListedRelayInstance[] = [];
    for (const region of this.opts.regions) {
      let token: string | undefined;
      do {
        const page = await callAws(
          'DescribeInstances',
          region,
          () =>
            this.client(region).send(
              new DescribeInstancesCommand({
                Filters: [
                  { Name: `tag:${MANAGED_TAG}`, Values: ['true'] },
                  { Name: 'instance-state-name', Values: LIVE_STATES },
                ],
                NextToken: token,
              }),
            ),
          this.call,
        );
        for (const r of page.Reservations ?? []) {
          for (const i of r.Instances ?? []) {
            if (!i.InstanceId) continue;
            out.push({
              instance_id: i.InstanceId,
              session_id: i.Tags?.find((t) => t.Key === SESSION_TAG)?.Value ?? null,
              region,
              state: i.State?.Name ?? 'unknown',
            });
          }
        }
        token = page.NextToken;
      } while (token);
    }
    return out;
  }

  /** The relay security group of a region: the configured one, or `telemy-relay` looked up / created. */
  private async securityGroup(region: string): Promise<string> {
    if (this.opts.securityGroupId) return this.opts.securityGroupId;
    const cached = this.groups.get(region);
    if (cached) return cached;
    const name = this.opts.securityGroupName ?? DEFAULT_SECURITY_GROUP_NAME;
    const ec2 = this.client(region);
    const find = async () => {
      const found = await callAws(
        'DescribeSecurityGroups',
        region,
        () =>
          ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] })),
        this.call,
      );
      return found.SecurityGroups?.[0]?.GroupId;
    };
    let groupId = await find();
    if (!groupId) {
      try {
        const created = await callAws(
          'CreateSecurityGroup',
          region,
          () =>
            ec2.send(
              new CreateSecurityGroupCommand({
                GroupName: name,
                Description: 'Telemy relays: SRT ingest/egress (UDP) and telemetry (TCP)',
                TagSpecifications: [
                  { ResourceType: 'security-group', Tags: [{ Key: MANAGED_TAG, Value: 'true' }] },
                ],
              }),
            ),
          this.call,
        );
        groupId = created.GroupId;
        if (groupId) await this.openRelayPorts(region, groupId);
      } catch (err) {
        // Another control-plane replica created it first.
        if (!(err instanceof AwsOperationError && err.code === 'InvalidGroup.Duplicate')) throw err;
        groupId = await find();
      }
    }
    if (!groupId) throw new Error(`security group ${name} in ${region} could not be found or created`);
    this.groups.set(region, groupId);
    return groupId;
  }

  private async openRelayPorts(region: string, groupId: string): Promise<void> {
    const p = this.ports;
    const srtPorts = [p.egressPort, ...Array.from({ length: p.maxLinks }, (_, i) => p.ingestPort + 2 * i)];
    const anywhere = [{ CidrIp: '0.0.0.0/0' }];
    try {
      await callAws(
        'AuthorizeSecurityGroupIngress',
        region,
        () =>
          this.client(region).send(
            new AuthorizeSecurityGroupIngressCommand({
              GroupId: groupId,
              IpPermissions: [
                {
                  IpProtocol: 'udp',
                  FromPort: Math.min(...srtPorts),
                  ToPort: Math.max(...srtPorts),
                  IpRanges: anywhere,
                },
                { IpProtocol: 'tcp', FromPort: p.telemetryPort, ToPort: p.telemetryPort, IpRanges: anywhere },
                ...(p.srtlaPort === null
                  ? []
                  : [{ IpProtocol: 'udp', FromPort: p.srtlaPort, ToPort: p.srtlaPort, IpRanges: anywhere }]),
              ],
            }),
          ),
        this.call,
      );
    } catch (err) {
      if (!(err instanceof AwsOperationError && err.code === 'InvalidPermission.Duplicate')) throw err;
    }
  }
}

/**
 * Factory for the control plane's provider registry (`TELEMY_RELAY_PROVIDER=aws`). Environment:
 * `TELEMY_AWS_REGIONS` (comma-separated, for orphan sweeps; else `AWS_REGION`),
 * `TELEMY_AWS_INSTANCE_TYPE`, `TELEMY_AWS_SECURITY_GROUP_ID`, `TELEMY_AWS_SUBNET_ID`. Credentials come
 * from the SDK's default chain.
 */
export function createAwsRelayProvider(deps: RelayProviderDeps): AwsRelayProvider {
  const env = deps.env;
  const regions = (env.TELEMY_AWS_REGIONS || env.AWS_REGION || '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (regions.length === 0) {
    throw new Error(
      'the aws relay provider needs TELEMY_AWS_REGIONS (or AWS_REGION) to know where relays run',
    );
  }
  return new AwsRelayProvider({
    regions,
    registry: deps.registry,
    log: deps.log,
    defaultInstanceType: env.TELEMY_AWS_INSTANCE_TYPE || DEFAULT_INSTANCE_TYPE,
    securityGroupId: env.TELEMY_AWS_SECURITY_GROUP_ID || undefined,
    subnetId: env.TELEMY_AWS_SUBNET_ID || undefined,
  });
}
