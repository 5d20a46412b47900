export { writeFileAtomic } from './atomic-write.js';
export { ConfigStore } from './config-store.js';
export {
  ConfigError,
  type ConfigSource,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  parseConfigText,
  parseToml,
  resolveConfigPath,
  userConfigFile,
  validateConfig,
} from './loader.js';
export { type DroppedKey, isV2Config, type MigrationResult, migrateV2 } from './migrate-v2.js';
export * from './schema.js';
export { defaultConfigText } from './template.js';
export { replaceConfigTables, rewriteConfigFile, type ScalarChange, updateConfigFile } from './writer.js';
