import os from 'node:os';
import { chooseRelayAddress, LOCAL_RELAY_ENV, type NetworkInterfaces } from '@telemy/protocol';
import type { TelemyConfig } from '../config/schema.js';

/**
 * Why a session's relay is at `publicIp`, for the dashboard and `telemy cloud active`. Embedded:
 * the same choice the local provider makes from the same settings; an address that no longer
 * matches it (the machine's network changed since) was chosen when the relay started.
 */
export function relayAddressReason(
  publicIp: string,
  config: Pick<TelemyConfig, 'cloud' | 'relay'>,
  env: NodeJS.ProcessEnv = process.env,
  interfaces: () => NetworkInterfaces = os.networkInterfaces,
): string {
  if (config.cloud.mode !== 'embedded') return "the hosted relay's public address";
  const setting = (fromConfig: string | undefined, name: string) =>
    fromConfig ?? (env[name] === '' ? undefined : env[name]);
  const choice = chooseRelayAddress({
    bindHost: setting(config.relay.bind_host, LOCAL_RELAY_ENV.bindHost),
    publicHost: setting(config.relay.public_host, LOCAL_RELAY_ENV.publicHost),
    interfaces: interfaces(),
  });
  return choice.public_host === publicIp
    ? choice.reason
    : `chosen when the relay started; it would now be ${choice.public_host} (${choice.reason})`;
}
