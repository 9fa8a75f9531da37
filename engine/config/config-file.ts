/** The config file the CLI looks for when --config is not given. */
export const DEFAULT_CONFIG_FILE = 'audsync.config.ts';
