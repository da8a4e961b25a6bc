// The version of @umqtt/node, from its package.json: found by walking up from this module, so it
// works from the published dist/cli/ and from a bundle made of the sources alike.
import { readFileSync } from 'node:fs';

/** "0.1.0", or "unknown" when no package.json of @umqtt/node is found above this module. */
export function version(): string {
  for (let up = '../'; up.length < 30; up += '../') {
    try {
      const manifest = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === '@umqtt/node' && manifest.version) return manifest.version;
    } catch {
      // no package.json at this level
    }
  }
  return 'unknown';
}
