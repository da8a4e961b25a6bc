// Topic names, topic filters and matching [MQTT-4.7].
import { INVALID_TOPIC, fail } from './errors.js';
import { utf8Length } from './utf8.js';

function measure(s: string, what: string): number {
  if (typeof s !== 'string' || !s) throw fail(INVALID_TOPIC, what, 'a non-empty string', JSON.stringify(s), 'MQTT-4.7.3-1');
  const n = utf8Length(s);
  if (n > 65535) throw fail(INVALID_TOPIC, what, 'at most 65535 bytes', n, 'MQTT-4.7.3-3');
  return n;
}

/** Throws unless `topic` is a valid topic name to publish to; returns its UTF-8 length. */
export function validateTopicName(topic: string): number {
  const n = measure(topic, 'topic name');
  if (/[+#]/.test(topic)) throw fail(INVALID_TOPIC, 'topic name', 'no wildcards', topic, 'MQTT-3.3.2-2');
  return n;
}

/** Throws unless `filter` is a valid topic filter to subscribe to; returns its UTF-8 length. */
export function validateTopicFilter(filter: string): number {
  const n = measure(filter, 'topic filter');
  const levels = filter.split('/');
  const last = levels.length - 1;
  levels.forEach((l, i) => {
    if (l.length > 1 && /[+#]/.test(l)) throw fail(INVALID_TOPIC, 'topic filter', 'wildcards alone in their level', filter, 'MQTT-4.7.1-3');
    if (l === '#' && i < last) throw fail(INVALID_TOPIC, 'topic filter', '# only as the last level', filter, 'MQTT-4.7.1-2');
  });
  return n;
}

/**
 * Whether topic name `topic` matches topic filter `filter` (both assumed valid).
 * Wildcards at the start of a filter do not match topics starting with `$` [MQTT-4.7.2-1].
 *
 * @example topicMatches('home/+/temp', 'home/kitchen/temp') // true
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  let f = 0;
  let t = 0;
  if (topic[0] === '$' && (filter[0] === '+' || filter[0] === '#')) return false;
  while (f < fl) {
    const c = filter[f];
    if (c === '#') return true;
    if (c === '+') {
      while (t < tl && topic[t] !== '/') t++;
      f++;
    } else {
      while (f < fl && filter[f] !== '/') if (topic[t++] !== filter[f++]) return false;
      if (t < tl && topic[t] !== '/') return false;
    }
    if (f >= fl) return t >= tl;
    f++; // past the filter's '/'
    if (t >= tl) return filter[f] === '#' && f + 1 === fl; // 'a/#' matches 'a'
    t++; // past the topic's '/'
  }
  return t >= tl;
}
