import { createLogger, type Logger } from '@telemy/protocol';
import type { TelemyConfig } from '../config/schema.js';
import { CloudLink } from './cloudlink.js';
import { ControlPlaneClient, type FetchLike } from './control-plane-client.js';
import { ensureRelayMediaSource, type ObsRequester } from './obs-media-source.js';
import { relayAddressReason } from './relay-address.js';
import type { RelaySignalSink } from './relay-signals.js';

export interface CloudLinkWiring {
  config: Pick<TelemyConfig, 'cloud' | 'relay' | 'scenes'>;
  /** The control plane to use; embedded mode passes its child process's URL. Default: `cloud.base_url`. */
  baseUrl?: string | null;
  /** Where the API key lives (`cloud.api_key_key` names the entry); read at every token exchange. */
  vault: { get(name: string): string | null };
  sink: RelaySignalSink;
  /** The OBS link: reported to the control plane and used to configure the relay media source. */
  obs?: (ObsRequester & { readonly connected: boolean }) | null;
  restoredSessionId?: string | null;
  logger?: Logger;
  fetch?: FetchLike;
}

/**
 * Builds the engine's CloudLink from the config (`[cloud]`, `[relay]`). Null when the cloud is off or
 * no control plane is known: the engine then runs in
 * studio mode only.
 */
export function createCloudLink(w: CloudLinkWiring): CloudLink | null {
  const { cloud, relay, scenes } = w.config;
  if (cloud.mode === 'off') return null;
  const baseUrl = w.baseUrl ?? cloud.base_url;
  if (!baseUrl) return null;
  const log = w.logger ?? createLogger('cloudlink');
  const api = new ControlPlaneClient({
    baseUrl,
    getSecret: () => w.vault.get(cloud.api_key_key),
    logger: log,
    ...(w.fetch ? { fetch: w.fetch } : {}),
  });
  const obs = w.obs ?? null;
  const configureObsSource =
    relay.auto_configure_obs_source && obs
      ? async (url: string) => {
          const res = await ensureRelayMediaSource(obs, {
            sceneName: scenes.live,
            inputName: relay.obs_source_name,
            url,
          });
          log.info(
            {
              source: relay.obs_source_name,
              scene: scenes.live,
              result: res.input,
              added_to_scene: res.addedToScene,
            },
            'OBS relay media source ready',
          );
        }
      : undefined;
  return new CloudLink({
    api,
    sink: w.sink,
    regionPreference: cloud.region_preference,
    restoredSessionId: w.restoredSessionId ?? null,
    obsConnected: () => obs?.connected ?? false,
    ...(configureObsSource ? { configureObsSource } : {}),
    relayAddressReason: (ip) => relayAddressReason(ip, w.config),
    logger: log,
  });
}
