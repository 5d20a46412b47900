import { registerRelayProvider } from './registry.js';

/**
 * Importing this module plugs the real providers into the registry: `local` (child processes) and
 * `aws` (EC2). The AWS SDK is only loaded when `aws` is chosen, so local and embedded runs start fast.
 */
registerRelayProvider('local', async (deps) => (await import('./local.js')).createLocalRelayProvider(deps));
registerRelayProvider('aws', async (deps) => (await import('./aws.js')).createAwsRelayProvider(deps));
