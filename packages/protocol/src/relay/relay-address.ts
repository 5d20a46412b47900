/** One address of a network interface, as `os.networkInterfaces()` lists it. */
export interface InterfaceAddress {
  address: string;
  /** `'IPv4'`, or `4` on the Node versions that report a number. */
  family: string | number;
  internal: boolean;
}

export type NetworkInterfaces = Record<string, InterfaceAddress[] | undefined>;

/** Where the embedded relay listens and the address the phone is given, with the reason for it. */
export interface RelayAddressChoice {
  bind_host: string;
  public_host: string;
  reason: string;
}

/**
 * How the engine hands `[relay] bind_host` and `public_host` to its embedded control plane's `local`
 * provider (unset: the provider's defaults).
 */
export const LOCAL_RELAY_ENV = {
  bindHost: 'TELEMY_LOCAL_RELAY_BIND_HOST',
  publicHost: 'TELEMY_LOCAL_RELAY_PUBLIC_HOST',
} as const;

/** Listening on every interface: the default, so a phone on the same network can reach the relay. */
export const RELAY_BIND_ALL = '0.0.0.0';

const isIpv4 = (a: InterfaceAddress): boolean => a.family === 'IPv4' || a.family === 4;
/** 169.254/16 is what a host gives itself without DHCP: a phone on the network cannot route to it. */
const isLinkLocal = (ip: string): boolean => ip.startsWith('169.254.');

/**
 * The embedded relay's addresses from `[relay] bind_host` and `public_host` (either may be unset)
 * and the machine's interfaces. An explicit `public_host` wins; a relay bound to one address is
 * reachable only there; otherwise the phone gets the first non-internal IPv4 address in interface
 * order, and 127.0.0.1 when the machine has none (then only this machine can reach the relay).
 */
export function chooseRelayAddress(opts: {
  bindHost?: string | undefined;
  publicHost?: string | undefined;
  interfaces: NetworkInterfaces;
}): RelayAddressChoice {
  const bind_host = opts.bindHost ?? RELAY_BIND_ALL;
  if (opts.publicHost !== undefined) {
    return { bind_host, public_host: opts.publicHost, reason: 'set by [relay] public_host' };
  }
  if (bind_host !== RELAY_BIND_ALL) {
    return {
      bind_host,
      public_host: bind_host,
      reason: 'the relay listens only on [relay] bind_host',
    };
  }
  for (const [name, addresses] of Object.entries(opts.interfaces)) {
    const found = (addresses ?? []).find((a) => isIpv4(a) && !a.internal && !isLinkLocal(a.address));
    if (found) {
      return {
        bind_host,
        public_host: found.address,
        reason: `first non-internal IPv4 address of this machine (${name}); set [relay] public_host to choose another`,
      };
    }
  }
  return {
    bind_host,
    public_host: '127.0.0.1',
    reason:
      'no network interface has a non-internal IPv4 address, so only this machine can reach the relay; set [relay] public_host',
  };
}
