import { EventEmitter } from 'node:events';
import type { TelemyConfig } from './schema.js';
import { replaceConfigTables, rewriteConfigFile, type ScalarChange, updateConfigFile } from './writer.js';

/**
 * The running engine's config: read once at start, changed only through here (dock, chat, API), each
 * change written atomically to the file first and applied in memory only when the write succeeded.
 * Without a config file the first change creates one at `writePath` (the user config folder).
 */
export class ConfigStore extends EventEmitter<{ change: [TelemyConfig] }> {
  private cfg: TelemyConfig;
  private file: string;

  constructor(
    config: TelemyConfig,
    readonly loadedFrom: string | null,
    writePath: string,
  ) {
    super();
    this.cfg = config;
    this.file = loadedFrom ?? writePath;
  }

  get config(): TelemyConfig {
    return this.cfg;
  }

  /** Where changes are written. */
  get path(): string {
    return this.file;
  }

  /** Throws ConfigError (nothing written) when a value is out of bounds. */
  update(changes: Record<string, ScalarChange>): TelemyConfig {
    return this.commit(updateConfigFile(this.file, changes));
  }

  replaceTables(changes: Partial<Pick<TelemyConfig, 'outputs' | 'sources'>>): TelemyConfig {
    return this.commit(replaceConfigTables(this.file, changes));
  }

  /** Whole-file rewrite (the settings page): validated first, nothing written when invalid. */
  rewrite(mutate: (raw: Record<string, unknown>) => void): TelemyConfig {
    return this.commit(rewriteConfigFile(this.file, mutate));
  }

  private commit(next: TelemyConfig): TelemyConfig {
    this.cfg = next;
    this.emit('change', next);
    return next;
  }
}
