import type { Logger } from '@telemy/protocol';
import type { Registry } from 'prom-client';
import { FakeRelayProvider } from './fake.js';
import type { RelayProvider } from './types.js';

/** What a provider factory may use: the control plane's environment, logger and metrics registry. */
export interface RelayProviderDeps {
  env: NodeJS.ProcessEnv;
  log: Logger;
  registry: Registry;
}

export type RelayProviderFactory = (deps: RelayProviderDeps) => RelayProvider | Promise<RelayProvider>;

const factories = new Map<string, RelayProviderFactory>([['fake', () => new FakeRelayProvider()]]);

/** Providers (`local`, `aws`) register themselves by name; `TELEMY_RELAY_PROVIDER` picks one. */
export function registerRelayProvider(name: string, factory: RelayProviderFactory): void {
  factories.set(name, factory);
}

export function relayProviderNames(): string[] {
  return [...factories.keys()].sort();
}

export async function createRelayProvider(name: string, deps: RelayProviderDeps): Promise<RelayProvider> {
  const factory = factories.get(name);
  if (!factory) {
    throw new Error(
      `unknown relay provider "${name}" (available: ${relayProviderNames().join(', ')}); set TELEMY_RELAY_PROVIDER to one of them`,
    );
  }
  return factory(deps);
}
