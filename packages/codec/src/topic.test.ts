// Topic names, filters and matching, from the examples of MQTT 3.1.1 section 4.7.
import { describe, expect, it, vi } from 'vitest';
import {
  INVALID_TOPIC,
  INVALID_UTF8,
  UmqttError,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
  type TopicMemo,
} from './index.js';

function error(f: () => unknown): UmqttError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UmqttError);
    return e as UmqttError;
  }
  throw new Error('nothing thrown');
}

describe('validateTopicName', () => {
  it.each([
    ['sport/tennis/player1', 20],
    ['Accounts payable', 16], // spaces are allowed [4.7.3]
    ['/finance', 8],
    ['finance/', 8],
    ['/', 1],
    ['//', 2],
    ['$SYS/broker/uptime', 18],
    ['é', 2],
    ['\u{1F600}', 4],
  ])('%s is valid; its UTF-8 length is %i', (name, n) => {
    expect(validateTopicName(name)).toBe(n);
  });

  it.each([
    ['', INVALID_TOPIC, 'MQTT-4.7.3-1'],
    ['sport/+', INVALID_TOPIC, 'MQTT-3.3.2-2'],
    ['sport/#', INVALID_TOPIC, 'MQTT-3.3.2-2'],
    ['+', INVALID_TOPIC, 'MQTT-3.3.2-2'],
    ['#', INVALID_TOPIC, 'MQTT-3.3.2-2'],
    ['a#b', INVALID_TOPIC, 'MQTT-3.3.2-2'],
    ['a\u0000', INVALID_UTF8, 'MQTT-1.5.3-2'],
    ['a\ud800', INVALID_UTF8, 'MQTT-1.5.3-1'],
    ['x'.repeat(65536), INVALID_TOPIC, 'MQTT-4.7.3-3'],
  ])('%j is invalid', (name, code, clause) => {
    const e = error(() => validateTopicName(name));
    expect([e.code, e.clause]).toEqual([code, clause]);
  });

  it('remembers only a topic it accepted: the same valid topic again, a non-string never, even as the first call', async () => {
    vi.resetModules();
    const fresh = (await import('./topic.js')).validateTopicName; // nothing remembered yet
    // the fresh module has its own UmqttError class: compare codes
    const error = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as UmqttError;
      }
      throw new Error('nothing thrown');
    };
    expect(error(() => fresh(undefined as unknown as string)).code).toBe(INVALID_TOPIC);
    expect(fresh('a/b')).toBe(3);
    expect(fresh('a/b')).toBe(3);
    expect(error(() => fresh('a/+')).code).toBe(INVALID_TOPIC);
    expect(fresh('a/b')).toBe(3);
    expect(error(() => fresh(undefined as unknown as string)).code).toBe(INVALID_TOPIC);
    expect(fresh('küche')).toBe(6);
  });

  it('a memo of its own: remembers only what it accepted, starts empty, is not shared', () => {
    const memo: TopicMemo = [];
    const other: TopicMemo = [];
    expect(error(() => validateTopicName(undefined as never, memo)).code).toBe(INVALID_TOPIC);
    expect(memo).toEqual([]); // nothing remembered from a refusal
    expect(validateTopicName('a/b', memo)).toBe(3);
    expect(memo).toEqual(['a/b', 3]);
    expect(validateTopicName('küche', other)).toBe(6);
    expect(memo).toEqual(['a/b', 3]); // another memo's topic displaces nothing here
    expect(validateTopicName('küche')).toBe(6); // nor does the shared one's
    expect(memo).toEqual(['a/b', 3]);
    expect(error(() => validateTopicName('a/+', memo)).code).toBe(INVALID_TOPIC);
    expect(validateTopicName('a/b', memo)).toBe(3);
  });

  it('a remembered topic is answered from the memo: what is in it is the answer', () => {
    // Only validateTopicName writes a memo; this one is written by hand to see that it is read.
    const memo: TopicMemo = ['a/b', 7];
    expect(validateTopicName('a/b', memo)).toBe(7);
    expect(validateTopicName('a/c', memo)).toBe(3);
    expect(memo).toEqual(['a/c', 3]);
  });

  it('accepts exactly 65535 bytes', () => {
    expect(validateTopicName('x'.repeat(65535))).toBe(65535);
    expect(validateTopicName('x'.repeat(65533) + 'é')).toBe(65535);
    expect(error(() => validateTopicName('x'.repeat(65534) + 'é')).clause).toBe('MQTT-4.7.3-3');
  });

  it('rejects non-strings with the same error', () => {
    expect(error(() => validateTopicName(undefined as never)).code).toBe(INVALID_TOPIC);
    expect(error(() => validateTopicName(42 as never)).code).toBe(INVALID_TOPIC);
  });
});

describe('validateTopicFilter', () => {
  it.each([
    'sport/tennis/player1/#',
    'sport/#',
    '#',
    'sport/tennis/#',
    '+',
    '+/tennis/#',
    'sport/+/player1',
    '+/+',
    '/+',
    '$SYS/#',
    '$SYS/monitor/+',
    '+/#',
    '/#',
    '//',
    'a//+//#',
  ])('%s is valid [MQTT-4.7.1-2, MQTT-4.7.1-3]', (filter) => {
    expect(validateTopicFilter(filter)).toBe(filter.length);
  });

  it.each([
    ['sport/tennis#', 'MQTT-4.7.1-2'],
    ['sport/tennis/#/ranking', 'MQTT-4.7.1-2'],
    ['#/', 'MQTT-4.7.1-2'],
    ['a/#/', 'MQTT-4.7.1-2'],
    ['#+', 'MQTT-4.7.1-2'],
    ['sport+', 'MQTT-4.7.1-3'],
    ['+sport', 'MQTT-4.7.1-3'],
    ['a/++/b', 'MQTT-4.7.1-3'],
    ['', 'MQTT-4.7.3-1'],
  ])('%j is invalid (%s)', (filter, clause) => {
    const e = error(() => validateTopicFilter(filter));
    expect([e.code, e.clause]).toEqual([INVALID_TOPIC, clause]);
  });

  it('U+0000 and lone surrogates are invalid UTF-8', () => {
    expect(error(() => validateTopicFilter('a/\u0000')).code).toBe(INVALID_UTF8);
    expect(error(() => validateTopicFilter('\udfff/#')).code).toBe(INVALID_UTF8);
  });
});

describe('topicMatches', () => {
  it.each([
    // 4.7.1.2 multi-level wildcard
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/tennis/player1/#', 'sport/tennis/player2', false],
    ['sport/tennis/player1/#', 'sport/tennis/player10', false],
    ['sport/#', 'sport', true],
    ['sport/#', 'sport/', true],
    ['sport/#', 'sports', false],
    ['#', 'sport/tennis/player1', true],
    ['#', '/', true],
    ['#', '/finance', true],
    // 4.7.1.3 single-level wildcard
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/tennis/+', 'sport/tennis', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true], // + matches an empty level
    ['sport/+/player1', 'sport/tennis/player1', true],
    ['sport/+/player1', 'sport//player1', true],
    ['+', 'sport', true],
    ['+', '', true],
    ['+/+', '/', true],
    ['+/tennis/#', 'sport/tennis/player1', true],
    ['+/tennis/#', 'sport/tennis', true],
    ['+/tennis/#', 'sport/golf', false],
    ['+/#', 'a', true],
    // "/finance" matches "+/+" and "/+", but not "+"
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['/finance', '/finance', true],
    ['/finance', 'finance', false],
    ['finance', '/finance', false],
    ['finance/', 'finance', false],
    // 4.7.2 topics beginning with $ [MQTT-4.7.2-1]
    ['#', '$SYS/monitor/Clients', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['+', '$SYS', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/#', '$SYS', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['$SYS/+/Clients', '$SYS/monitor/Clients', true],
    ['a/$SYS', 'a/$SYS', true],
    ['a/+', 'a/$SYS', true], // only a leading $ is special
    // 4.7.3 case sensitivity, no normalization [MQTT-4.7.3-4]
    ['ACCOUNTS', 'Accounts', false],
    ['Accounts payable', 'Accounts payable', true],
    ['caf\u00e9', 'cafe\u0301', false],
    // empty levels and lengths
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/bc', false],
    ['a/bc', 'a/b', false],
    ['a/b/#', 'a/b', true],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a', false],
    ['\u{1F600}/+', '\u{1F600}/x', true],
  ])('%j matches %j: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});
