import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { createLogger } from '@telemy/protocol';
import { parseRelayConfig, relayConfigFromEnv } from '@telemy/relay';
import { mockClient } from 'aws-sdk-client-mock';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsRelayProvider, type AwsRelayProviderOptions } from '../../src/providers/aws.js';
import { classifyAwsError } from '../../src/providers/aws-retry.js';
import type { RelayProvisionRequest } from '../../src/providers/types.js';

const ec2Mock = mockClient(EC2Client);

function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
}

function request(over: Partial<RelayProvisionRequest> = {}): RelayProvisionRequest {
  return {
    session_id: 'ses_abc123',
    user_id: 'usr_42',
    region: 'eu-west-1',
    image_id: 'ami-0eu1111111111111',
    instance_type: '',
    agent: {
      control_plane_url: 'https://cp.example.com',
      relay_credential: 'rly_secretcredential0001',
      pair_token: 'PAIRTOKENABCDEFGH234',
      relay_ws_token: 'ws-token-0123456789abcdef',
      egress_passphrase: 'EGRESSPASSWORD7654',
      max_session_seconds: 57_600,
    },
    ...over,
  };
}

const running = (id: string, ip = '203.0.113.7') => ({
  Reservations: [
    { Instances: [{ InstanceId: id, State: { Name: 'running' as const }, PublicIpAddress: ip }] },
  ],
});

interface Harness {
  provider: AwsRelayProvider;
  registry: Registry;
  sleeps: number[];
  clock: { t: number };
}

function harness(over: Partial<AwsRelayProviderOptions> = {}): Harness {
  const registry = new Registry();
  const sleeps: number[] = [];
  const clock = { t: 0 };
  const provider = new AwsRelayProvider({
    regions: ['eu-west-1', 'us-east-1'],
    registry,
    log: createLogger('test', { level: 'silent' }),
    clientFor: (region) => new EC2Client({ region, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 10_000 },
    pollIntervalMs: 1_000,
    launchTimeoutMs: 5_000,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.t += ms;
    },
    now: () => clock.t,
    random: () => 0.5,
    ...over,
  });
  return { provider, registry, sleeps, clock };
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as Array<{ labels: Record<string, string>; value: number }> | undefined)?.find((x) =>
    Object.entries(labels).every(([k, val]) => x.labels[k] === val),
  );
  return v?.value ?? 0;
}

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-relay' }] });
  ec2Mock.on(DescribeInstancesCommand).resolves(running('i-0001'));
  ec2Mock.on(TerminateInstancesCommand).resolves({});
});

describe('AwsRelayProvider.provision', () => {
  it('launches with the exact RunInstances input and returns the public address', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0001' }] });
    const { provider } = harness();
    const relay = await provider.provision(request());
    expect(relay).toEqual({
      instance_id: 'i-0001',
      public_ip: '203.0.113.7',
      srt_port: 9000,
      egress_port: 9001,
      ws_port: 7443,
      srtla_port: 5000,
    });
    const [call] = ec2Mock.commandCalls(RunInstancesCommand);
    const input = call?.args[0].input;
    const tags = [
      { Key: 'telemy:managed', Value: 'true' },
      { Key: 'telemy:session_id', Value: 'ses_abc123' },
      { Key: 'telemy:user_id', Value: 'usr_42' },
      { Key: 'Name', Value: 'telemy-relay-ses_abc123' },
    ];
    expect({ ...input, UserData: undefined }).toEqual({
      ImageId: 'ami-0eu1111111111111',
      InstanceType: 't4g.small',
      MinCount: 1,
      MaxCount: 1,
      ClientToken: 'ses_abc123',
      InstanceInitiatedShutdownBehavior: 'terminate',
      UserData: undefined,
      SecurityGroupIds: ['sg-relay'],
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    });
    // User-data: base64 cloud-config whose env file is the agent's configuration.
    const cloudConfig = Buffer.from(input?.UserData as string, 'base64').toString('utf8');
    expect(cloudConfig.startsWith('#cloud-config\n')).toBe(true);
    const b64 = /content: (\S+)/.exec(cloudConfig)?.[1] as string;
    const envFile = Buffer.from(b64, 'base64').toString('utf8');
    const env = Object.fromEntries(
      envFile
        .trim()
        .split('\n')
        .map((l) => {
          const [, k, v] = /^([A-Z_]+)="(.*)"$/.exec(l) as RegExpExecArray;
          return [k, v];
        }),
    );
    const agent = parseRelayConfig(relayConfigFromEnv({ ...env, TELEMY_RELAY_INSTANCE_ID: 'i-0001' }));
    expect(agent).toMatchObject({
      sessionId: 'ses_abc123',
      instanceId: 'i-0001',
      controlPlaneUrl: 'https://cp.example.com',
      relayCredential: 'rly_secretcredential0001',
      pairToken: 'PAIRTOKENABCDEFGH234',
      relayWsToken: 'ws-token-0123456789abcdef',
      egressPassphrase: 'EGRESSPASSWORD7654',
      maxSessionSeconds: 57_600,
      bindHost: '0.0.0.0',
      ingestPort: 9000,
      egressPort: 9001,
      telemetryPort: 7443,
      srtlaPort: 5000,
      shutdownCommand: 'shutdown -h now',
    });
    // The secret travels only inside the base64 payload, never as readable YAML.
    expect(cloudConfig).not.toContain('PAIRTOKENABCDEFGH234');
  });

  it('uses the image and client of the requested region and the manifest instance type', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0001' }] });
    const regions: string[] = [];
    const { provider } = harness({
      clientFor: (region) => {
        regions.push(region);
        return new EC2Client({ region, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
      },
    });
    await provider.provision(
      request({ region: 'us-east-1', image_id: 'ami-0us2222222222222', instance_type: 'c7g.large' }),
    );
    expect(regions).toEqual(['us-east-1']);
    const input = ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ ImageId: 'ami-0us2222222222222', InstanceType: 'c7g.large' });
  });

  it('creates the relay security group with the SRT and telemetry ports when it does not exist', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-new' });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({});
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0001' }] });
    const { provider } = harness();
    await provider.provision(request());
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)[0]?.args[0].input.GroupName).toBe('telemy-relay');
    expect(
      ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.IpPermissions,
    ).toEqual([
      { IpProtocol: 'udp', FromPort: 9000, ToPort: 9002, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 7443, ToPort: 7443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'udp', FromPort: 5000, ToPort: 5000, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    expect(ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input.SecurityGroupIds).toEqual(['sg-new']);
  });

  it('retries throttling with full-jitter backoff, then succeeds with the same ClientToken', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('RequestLimitExceeded', 503))
      .rejectsOnce(awsError('Throttling'))
      .resolves({ Instances: [{ InstanceId: 'i-0001' }] });
    const { provider, registry, sleeps } = harness();
    await provider.provision(request());
    const calls = ec2Mock.commandCalls(RunInstancesCommand);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.args[0].input.ClientToken))).toEqual(new Set(['ses_abc123']));
    // random() = 0.5 → half of min(cap, base·2^n): 50, then 100.
    expect(sleeps.slice(0, 2)).toEqual([50, 100]);
    const region = 'eu-west-1';
    expect(
      await metric(registry, 'aegis_aws_retries_total', {
        op: 'RunInstances',
        region,
        reason: 'RequestLimitExceeded',
      }),
    ).toBe(1);
    expect(
      await metric(registry, 'aegis_aws_retries_total', { op: 'RunInstances', region, reason: 'Throttling' }),
    ).toBe(1);
    expect(
      await metric(registry, 'aegis_aws_operations_total', { op: 'RunInstances', region, status: 'success' }),
    ).toBe(1);
  });

  it('retries InsufficientInstanceCapacity', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity', 500))
      .resolves({ Instances: [{ InstanceId: 'i-0001' }] });
    const { provider } = harness();
    await expect(provider.provision(request())).resolves.toMatchObject({ instance_id: 'i-0001' });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(2);
  });

  it.each([
    ['AuthFailure'],
    ['UnauthorizedOperation'],
    ['InvalidAMIID.NotFound'],
    ['InvalidAMIID.Malformed'],
    ['InvalidParameterValue'],
  ])('does not retry the terminal error %s', async (code) => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError(code));
    const { provider, registry } = harness();
    await expect(provider.provision(request())).rejects.toThrow(
      new RegExp(`RunInstances in eu-west-1 failed with ${code.replace('.', '\\.')} \\(terminal\\)`),
    );
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(1);
    expect(
      await metric(registry, 'aegis_aws_operations_total', {
        op: 'RunInstances',
        region: 'eu-west-1',
        status: 'terminal_error',
      }),
    ).toBe(1);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it('stops at the attempt cap and counts the exhaustion', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('RequestLimitExceeded', 503));
    const { provider, registry } = harness();
    await expect(provider.provision(request())).rejects.toThrow(/retries exhausted after 5 attempts/);
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(5);
    expect(
      await metric(registry, 'aegis_aws_retry_exhausted_total', { op: 'RunInstances', region: 'eu-west-1' }),
    ).toBe(1);
  });

  it('respects the total time budget before the attempt cap', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('Throttling'));
    // Each delay is 0.99·cap(1000 ms) once the backoff saturates; the budget allows only a few.
    const { provider, clock } = harness({
      random: () => 0.99,
      retry: { maxAttempts: 50, baseDelayMs: 1_000, maxDelayMs: 1_000, budgetMs: 2_500 },
    });
    await expect(provider.provision(request())).rejects.toThrow(/retries exhausted after 3 attempts/);
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(3);
    expect(clock.t).toBeLessThanOrEqual(2_500);
  });

  it('terminates the instance when it never gets running with a public IP', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0bad' }] });
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-0bad', State: { Name: 'pending' } }] }],
    });
    const { provider } = harness();
    await expect(provider.provision(request())).rejects.toThrow(
      /not running with a public IP within 5000 ms/,
    );
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-0bad'],
    });
  });

  it('terminates the instance when describing it fails for good after launch', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0bad' }] });
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    const { provider } = harness();
    await expect(provider.provision(request())).rejects.toThrow(/DescribeInstances/);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('waits through the not-yet-visible instance id and a pending state', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0001' }] });
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(awsError('InvalidInstanceID.NotFound'))
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0001', State: { Name: 'pending' } }] }] })
      .resolves(running('i-0001', '198.51.100.9'));
    const { provider } = harness();
    await expect(provider.provision(request())).resolves.toMatchObject({ public_ip: '198.51.100.9' });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });
});

describe('AwsRelayProvider.deprovision and list', () => {
  it('counts terminating an instance that is already gone as success', async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));
    const { provider } = harness();
    await expect(provider.deprovision('i-gone', 'eu-west-1')).resolves.toBeUndefined();
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('passes other terminate failures on after its retries', async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    const { provider } = harness();
    await expect(provider.deprovision('i-1', 'eu-west-1')).rejects.toThrow(/UnauthorizedOperation/);
  });

  it('lists managed instances of every region through the tag filter, following pages', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: 'i-a',
                State: { Name: 'running' },
                Tags: [{ Key: 'telemy:session_id', Value: 'ses_1' }],
              },
            ],
          },
        ],
        NextToken: 'page2',
      })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-b', State: { Name: 'stopped' } }] }] })
      .resolvesOnce({ Reservations: [] });
    const { provider } = harness();
    expect(await provider.list()).toEqual([
      { instance_id: 'i-a', session_id: 'ses_1', region: 'eu-west-1', state: 'running' },
      { instance_id: 'i-b', session_id: null, region: 'eu-west-1', state: 'stopped' },
    ]);
    const inputs = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(inputs[0]?.Filters).toEqual([
      { Name: 'tag:telemy:managed', Values: ['true'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
    ]);
    expect(inputs[1]?.NextToken).toBe('page2');
    expect(inputs).toHaveLength(3);
  });
});

describe('AwsRelayProvider.locate', () => {
  const tagged = (tags: Record<string, string>, over: Record<string, unknown> = {}) => ({
    Reservations: [
      {
        Instances: [
          {
            InstanceId: 'i-0abc',
            State: { Name: 'running' as const },
            PublicIpAddress: '203.0.113.9',
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
            ...over,
          },
        ],
      },
    ],
  });

  it("answers a running managed instance with its address, this provider's ports and its session tag", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(tagged({ 'telemy:managed': 'true', 'telemy:session_id': 'ses_abc123' }));
    const { provider } = harness({
      ports: { ingestPort: 9100, egressPort: 9101, telemetryPort: 7500, srtlaPort: null },
    });
    expect(await provider.locate('i-0abc', 'us-east-1')).toEqual({
      instance_id: 'i-0abc',
      session_id: 'ses_abc123',
      public_ip: '203.0.113.9',
      srt_port: 9100,
      egress_port: 9101,
      ws_port: 7500,
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-0abc'],
    });
  });

  it('knows nothing of unknown, unmanaged, not running or address-less instances', async () => {
    const { provider } = harness();
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));
    expect(await provider.locate('i-0abc', 'eu-west-1')).toBeNull();
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.Malformed'));
    expect(await provider.locate('not-an-id', 'eu-west-1')).toBeNull();
    ec2Mock.on(DescribeInstancesCommand).resolves(tagged({ 'telemy:session_id': 'ses_abc123' }));
    expect(await provider.locate('i-0abc', 'eu-west-1')).toBeNull();
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(tagged({ 'telemy:managed': 'true' }, { State: { Name: 'pending' } }));
    expect(await provider.locate('i-0abc', 'eu-west-1')).toBeNull();
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(tagged({ 'telemy:managed': 'true' }, { PublicIpAddress: undefined }));
    expect(await provider.locate('i-0abc', 'eu-west-1')).toBeNull();
  });

  it('launches a resumed attempt under a client token of its own', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0001' }] });
    const { provider } = harness();
    await provider.provision(request({ attempt: 2 }));
    await provider.provision(request({ attempt: 1 }));
    expect(ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken)).toEqual([
      'ses_abc123-2',
      'ses_abc123',
    ]);
  });
});

describe('classifyAwsError', () => {
  it('sorts errors into retryable and terminal', () => {
    expect(classifyAwsError(awsError('Throttling'))).toEqual({ kind: 'retryable', reason: 'Throttling' });
    expect(classifyAwsError(awsError('SomethingOdd', 502))).toEqual({
      kind: 'retryable',
      reason: 'http_5xx',
    });
    expect(classifyAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toEqual({
      kind: 'retryable',
      reason: 'network',
    });
    expect(classifyAwsError(awsError('ValidationError')).kind).toBe('terminal');
    expect(classifyAwsError(awsError('InvalidAMIID.NotFound')).kind).toBe('terminal');
  });
});
