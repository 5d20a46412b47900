import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '@telemy/protocol';
import { type RelayAgentConfigInput, relayConfigToEnv } from '@telemy/relay';

/** The cloud-init template shipped in the repository (checked by tests with `cloud-init schema`). */
export const CLOUD_INIT_TEMPLATE_PATH = path.resolve(
  packageRoot('@telemy/control-plane'),
  '../../deploy/relay/cloud-init.yaml.tmpl',
);

/**
 * The agent's environment file (systemd `EnvironmentFile` syntax): one `KEY="value"` per line.
 * Values are double-quoted with `\` and `"` escaped; line breaks cannot be represented and are refused.
 */
export function agentEnvFile(config: Partial<RelayAgentConfigInput>): string {
  const lines = Object.entries(relayConfigToEnv(config)).map(([key, value]) => {
    if (/[\r\n]/.test(value)) throw new Error(`relay setting ${key} contains a line break`);
    return `${key}="${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  });
  return `${lines.join('\n')}\n`;
}

/** Fills `{{NAME}}` placeholders; a placeholder without a value is an error, not an empty string. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`cloud-init template needs a value for {{${name}}}`);
    return v;
  });
}

/** The rendered cloud-config (plain text) that writes the agent's configuration and starts it. */
export function renderRelayCloudConfig(
  config: Partial<RelayAgentConfigInput>,
  templatePath = CLOUD_INIT_TEMPLATE_PATH,
): string {
  const template = fs.readFileSync(templatePath, 'utf8');
  return renderTemplate(template, { AGENT_ENV_B64: Buffer.from(agentEnvFile(config)).toString('base64') });
}
