import { describe, expect, it } from 'vitest';
import { parseBrokerUrl } from './url.js';

describe('parseBrokerUrl', () => {
  it.each([
    ['mqtt://broker.example', { host: 'broker.example', port: 1883, tls: false }],
    ['tcp://10.0.0.1:1884', { host: '10.0.0.1', port: 1884, tls: false }],
    ['mqtts://broker.example', { host: 'broker.example', port: 8883, tls: true }],
    ['ssl://h:1', { host: 'h', port: 1, tls: true }],
    ['TLS://h:65535/', { host: 'h', port: 65535, tls: true }],
    ['mqtt://h:', { host: 'h', port: 1883, tls: false }],
    ['mqtt://[::1]:1999', { host: '::1', port: 1999, tls: false }],
    ['mqtt://[::1]', { host: '::1', port: 1883, tls: false }],
    ['mqtt://alice@h', { host: 'h', port: 1883, tls: false, username: 'alice' }],
    ['mqtts://al%40ce:p%3Ass%2Fw@h:8884', { host: 'h', port: 8884, tls: true, username: 'al@ce', password: 'p:ss/w' }],
  ])('%s', (url, expected) => {
    expect(parseBrokerUrl(url)).toStrictEqual(expected);
  });

  it.each([
    ['ws://h', /unsupported scheme "ws:".*mqtt:\/\/.*mqtts:\/\//],
    ['http://h:80', /unsupported scheme "http:"/],
    ['broker.example:1883', /no scheme/],
    ['mqtt://h:abc', /bad port "abc"/],
    ['mqtt://h:0', /bad port "0"/],
    ['mqtt://h:65536', /bad port "65536"/],
    ['mqtt://u:p@h:-1', /bad port "-1"/],
    ['mqtt://:1883', /no host|not a valid URL/],
  ])('%s is refused', (url, message) => {
    expect(() => parseBrokerUrl(url)).toThrow(message);
  });
});
