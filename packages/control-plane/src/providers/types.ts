/**
 * A RelayProvider creates and removes the one relay host that serves a session.
 * The control plane calls it from the background provisioning task and from the watchdog.
 */
export interface RelayProvisionRequest {
  session_id: string;
  user_id: string;
  region: string;
  image_id: string;
  instance_type: string;
  /**
   * 1 for the launch the start asked for; more when a launch whose owner died is resumed (with a
   * new relay credential). A provider that deduplicates launches per session (EC2's client token)
   * must tell attempts apart.
   */
  attempt?: number;
  /** Everything the relay agent needs to serve the session; the provider hands it to the agent. */
  agent: {
    control_plane_url: string;
    relay_credential: string;
    pair_token: string;
    relay_ws_token: string;
    egress_passphrase: string;
    max_session_seconds: number;
  };
}

export interface ProvisionedRelay {
  instance_id: string;
  public_ip: string;
  srt_port: number;
  egress_port: number;
  ws_port: number;
  /** The SRTLA receiver's port; providers whose relays run none leave it out. */
  srtla_port?: number;
}

/** A running relay as its provider knows it: where it serves and which session it was launched for. */
export interface LocatedRelay extends ProvisionedRelay {
  session_id: string | null;
}

export interface ListedRelayInstance {
  instance_id: string;
  session_id: string | null;
  region: string;
  state: string;
}

/** A launchable region as stored in `relay_manifests`. */
export interface RelayManifestEntry {
  region: string;
  image_id: string;
  default_instance_type: string;
}

export interface RelayProvider {
  readonly name: string;
  /**
   * Regions this provider can launch in without an operator-supplied manifest (e.g. `local`); the
   * control plane inserts them into `relay_manifests` at start when missing.
   */
  readonly defaultManifest?: readonly RelayManifestEntry[];
  provision(req: RelayProvisionRequest): Promise<ProvisionedRelay>;
  /** Already gone counts as success. */
  deprovision(instanceId: string, region: string): Promise<void>;
  /** Instances tagged as ours, for orphan sweeps. */
  list(): Promise<ListedRelayInstance[]>;
  /**
   * A running instance this provider launched, from its own records (EC2's description and tags, the
   * local registry), or null when it knows of none by that id. Lets the control plane adopt a relay
   * whose launch was never recorded (its provisioning process died): the session it names is the
   * provider's, never the relay's say-so.
   */
  locate(instanceId: string, region: string): Promise<LocatedRelay | null>;
}
