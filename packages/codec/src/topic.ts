// Topic names, topic filters and matching [MQTT-4.7].
import { INVALID_TOPIC, fail } from './errors.js';
import { utf8Length } from './utf8.js';

const quoted = (t: unknown) => JSON.stringify(t);

function nonEmpty(t: string, code: string, what: string): string {
  if (typeof t !== 'string' || !t) throw fail(code, what, 'a non-empty string', quoted(t), '4.7.3-1');
  return t;
}

/**
 * Throws (with `code`: INVALID_TOPIC for arguments, MALFORMED from the wire) unless `t` is a
 * non-empty string without wildcards. Does not measure it (a wire string is known to fit).
 */
export function checkName(t: string, code: string): string {
  if (/[+#]/.test(nonEmpty(t, code, 'topic name')))
    throw fail(code, 'topic name', 'no wildcards', quoted(t), '3.3.2-2');
  return t;
}

/** Like checkName, for a topic filter: '#' only as a whole last level, '+' only as a whole level. */
export function checkFilter(t: string, code: string): string {
  const bad = (expected: string, clause: string) => fail(code, 'topic filter', expected, quoted(t), clause);
  if (/[^/]#|#./.test(nonEmpty(t, code, 'topic filter'))) throw bad('# alone in the last level', '4.7.1-2');
  if (/[^/]\+|\+[^/]/.test(t)) throw bad('+ alone in its level', '4.7.1-3');
  return t;
}

/** The UTF-8 length of a topic, which must fit in 65535 bytes [MQTT-4.7.3-3]. */
function measure(t: string, what: string): number {
  const n = utf8Length(t);
  if (n > 65535) throw fail(INVALID_TOPIC, what, 'at most 65535 bytes', n, '4.7.3-3');
  return n;
}

/**
 * A one-entry memo of the last topic name {@link validateTopicName} accepted, with its UTF-8
 * length: a publisher mostly publishes to the topic it published to last, whose validation is
 * then not done again. Start one as an empty array; only validateTopicName writes it.
 *
 * Calls that pass none share one memo. Sharing is safe: an entry is only ever a string that
 * passed validation and that string's length, a pure function of it, so a shared memo can make a
 * call faster or slower, never give another answer. Give a caller its own to keep its topic from
 * being displaced by another caller's, or to test without state left by other calls.
 *
 * @example
 * const memo: TopicMemo = [];
 * encodePublish({ type: PUBLISH, topic: 'sensors/1/temp', payload }, false, memo); // validated
 * encodePublish({ type: PUBLISH, topic: 'sensors/1/temp', payload }, false, memo); // remembered
 */
export type TopicMemo = [topic?: string, length?: number];

const shared: TopicMemo = [];

/**
 * Throws unless `topic` is a valid topic name to publish to; returns its UTF-8 length. The last
 * topic accepted is remembered in `memo` (by default one shared by all callers, see
 * {@link TopicMemo}).
 *
 * @example
 * validateTopicName('sensors/1/temp'); // 14
 * validateTopicName('sensors/+/temp'); // throws UmqttError INVALID_TOPIC [MQTT-3.3.2-2]
 */
export function validateTopicName(topic: string, memo: TopicMemo = shared): number {
  // A memo holds a topic only with its length, which is never 0 (an empty topic is invalid):
  // a memo that holds none matches no argument, not even `undefined`.
  return (
    (topic === memo[0] && memo[1]) ||
    ((memo[1] = measure(checkName(topic, INVALID_TOPIC), 'topic name')), (memo[0] = topic), memo[1])
  );
}

/**
 * Throws unless `filter` is a valid topic filter to subscribe to; returns its UTF-8 length.
 *
 * @example
 * validateTopicFilter('sensors/+/temp'); // 14
 * validateTopicFilter('sensors/#/temp'); // throws UmqttError INVALID_TOPIC [MQTT-4.7.1-2]
 */
export const validateTopicFilter = (filter: string): number =>
  measure(checkFilter(filter, INVALID_TOPIC), 'topic filter');

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
