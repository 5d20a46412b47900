import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsRelayProvider } from '../../src/providers/aws.js';
import { renderRelayCloudConfig } from '../../src/providers/aws-user-data.js';

const repo = path.resolve(import.meta.dirname, '../../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-relay-deploy-'));

describe('deploy/relay', () => {
  it('build-image.sh is valid bash', () => {
    const r = spawnSync('bash', ['-n', path.join(repo, 'deploy/relay/build-image.sh')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the rendered user-data passes `cloud-init schema`', () => {
    const provider = new AwsRelayProvider({ regions: ['eu-west-1'] });
    const config = provider.agentConfig({
      session_id: 'ses_abc123',
      user_id: 'usr_42',
      region: 'eu-west-1',
      image_id: 'ami-1',
      instance_type: 't4g.small',
      agent: {
        control_plane_url: 'https://cp.example.com/base?x="1"',
        relay_credential: 'rly_secretcredential0001',
        pair_token: 'PAIRTOKENABCDEFGH234',
        relay_ws_token: 'ws-token-0123456789abcdef',
        egress_passphrase: 'EGRESSPASSWORD7654',
        max_session_seconds: 57_600,
      },
    });
    const file = path.join(tmp, 'user-data.yaml');
    fs.writeFileSync(file, renderRelayCloudConfig(config));
    const out = execFileSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
    expect(out).toMatch(/Valid cloud-config/);
  });

  it('`cloud-init schema` really rejects a broken config (the check above can fail)', () => {
    const file = path.join(tmp, 'broken.yaml');
    fs.writeFileSync(file, '#cloud-config\nwrite_files: 5\n');
    expect(spawnSync('cloud-init', ['schema', '--config-file', file]).status).not.toBe(0);
  });

  it('refuses a setting with a line break instead of writing a broken env file', () => {
    expect(() => renderRelayCloudConfig({ sessionId: 'ses_1\nEVIL=1' })).toThrow(
      /sessionId|TELEMY_RELAY_SESSION_ID/,
    );
  });
});
