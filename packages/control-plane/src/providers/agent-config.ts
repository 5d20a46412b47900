import type { RelayAgentConfigInput } from '@telemy/relay';
import type { RelayProvisionRequest } from './types.js';

/** What every relay agent is told about its session, whichever provider launches it. */
export function sessionAgentConfig(
  req: RelayProvisionRequest,
): Pick<
  RelayAgentConfigInput,
  | 'sessionId'
  | 'controlPlaneUrl'
  | 'relayCredential'
  | 'pairToken'
  | 'relayWsToken'
  | 'egressPassphrase'
  | 'maxSessionSeconds'
> {
  return {
    sessionId: req.session_id,
    controlPlaneUrl: req.agent.control_plane_url,
    relayCredential: req.agent.relay_credential,
    pairToken: req.agent.pair_token,
    relayWsToken: req.agent.relay_ws_token,
    egressPassphrase: req.agent.egress_passphrase,
    maxSessionSeconds: req.agent.max_session_seconds,
  };
}
