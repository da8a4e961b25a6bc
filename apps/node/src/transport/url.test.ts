import { describe, expect, it } from 'vitest';
import { parseBrokerUrl } from './url.js';

const tcp = { scheme: 'mqtt', tls: false, websocket: false, path: '/' } as const;
const tls = { scheme: 'mqtts', tls: true, websocket: false, path: '/' } as const;

describe('parseBrokerUrl', () => {
  it.each([
    ['mqtt://broker.example', { ...tcp, host: 'broker.example', port: 1883 }],
    ['tcp://10.0.0.1:1884', { ...tcp, host: '10.0.0.1', port: 1884 }],
    ['mqtts://broker.example', { ...tls, host: 'broker.example', port: 8883 }],
    ['ssl://h:1', { ...tls, host: 'h', port: 1 }],
    ['TLS://h:65535/', { ...tls, host: 'h', port: 65535 }],
    ['mqtt://h:', { ...tcp, host: 'h', port: 1883 }],
    ['mqtt://[::1]:1999', { ...tcp, host: '::1', port: 1999 }],
    ['mqtt://[::1]', { ...tcp, host: '::1', port: 1883 }],
    ['mqtt://alice@h', { ...tcp, host: 'h', port: 1883, username: 'alice' }],
    ['mqtts://al%40ce:p%3Ass%2Fw@h:8884', { ...tls, host: 'h', port: 8884, username: 'al@ce', password: 'p:ss/w' }],
    ['mqtt://h/sensors/kitchen', { ...tcp, host: 'h', port: 1883, path: '/sensors/kitchen' }],
    ['ws://h', { scheme: 'ws', tls: false, websocket: true, host: 'h', port: 80, path: '/' }],
    ['ws://h:8080/mqtt', { scheme: 'ws', tls: false, websocket: true, host: 'h', port: 8080, path: '/mqtt' }],
    [
      'wss://u:p@h/mqtt?X-Amz-Signature=ab%2Fc&x=1',
      {
        scheme: 'wss',
        tls: true,
        websocket: true,
        host: 'h',
        port: 443,
        path: '/mqtt?X-Amz-Signature=ab%2Fc&x=1',
        username: 'u',
        password: 'p',
      },
    ],
  ])('%s', (url, expected) => {
    expect(parseBrokerUrl(url)).toStrictEqual(expected);
  });

  it.each([
    ['http://h:80', /unsupported scheme "http:".*mqtt:\/\/.*mqtts:\/\/.*ws:\/\/.*wss:\/\//],
    ['broker.example:1883', /no scheme/],
    ['mqtt://h:abc', /bad port "abc"/],
    ['mqtt://h:0', /bad port "0"/],
    ['mqtt://h:65536', /bad port "65536"/],
    ['mqtt://u:p@h:-1', /bad port "-1"/],
    ['wss://h:99999/mqtt', /bad port "99999"/],
    ['mqtt://:1883', /no host|not a valid URL/],
  ])('%s is refused with UMQTT_INVALID_URL', (url, message) => {
    expect(() => parseBrokerUrl(url)).toThrow(message);
    expect(() => parseBrokerUrl(url)).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_URL', place: 'connect' }));
  });
});
