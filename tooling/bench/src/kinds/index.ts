// The clients under test, by id.
import type { Kind } from '../common.js';
import { flashKind } from './flash.js';
import { mqttjs } from './mqttjs.js';
import { raw } from './raw.js';
import { robustMemory } from './robust.js';
import { simple } from './simple.js';

/** Column order of the table. */
export const KIND_IDS = ['raw', 'mqttjs', 'simple', 'robust-memory', 'robust-flash', 'robust-flash-turn'] as const;

export async function loadKind(id: string): Promise<Kind> {
  switch (id) {
    case 'raw':
      return raw;
    case 'mqttjs':
      return mqttjs;
    case 'simple':
      return simple;
    case 'robust-memory':
      return robustMemory;
    case 'robust-flash':
      return flashKind(id, 'umqtt robust (file flash store)', true);
    case 'robust-flash-turn':
      return flashKind(id, "umqtt robust (file flash store, sync: 'group')", 'group');
  }
  throw new Error(`unknown client ${id}`);
}
