export { type ImportV2Result, importV2Vault } from './import-v2.js';
export {
  KeyFileStore,
  type KeyringEntry,
  KeyringKeyStore,
  openOsKeyring,
  type VaultKeyStore,
} from './key-store.js';
export { LOCAL_ACCESS_TOKEN_KEY, Vault, VaultError, vaultFileIn } from './vault.js';
