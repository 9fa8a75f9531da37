import type { NormalizedConfig } from '../config/normalized-config.js';

/** Some sync asks for alerts: only then are the alert modules loaded (start-up time of every other run). */
export const hasAlerts = (config: NormalizedConfig): boolean => Object.values(config.syncs).some((s) => s.alerts !== undefined);
