import type { DestinationDefinition } from '../engine/destination/destination-api.js';
import { webhook } from './webhook/index.js';
import { file } from './file/index.js';

/** Every built-in destination, by `type`. */
export const BUILTIN_DESTINATIONS: Readonly<Record<string, DestinationDefinition<unknown>>> = {
  [webhook.type]: webhook as DestinationDefinition<unknown>,
  [file.type]: file as DestinationDefinition<unknown>,
};
