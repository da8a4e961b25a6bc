// watchNetwork: the link state for RobustClient.setLink from the machine's interfaces. The
// interface lists are shaped as os.networkInterfaces() returns them (Node's documentation of
// os.networkInterfaces); the last test reads the real one.
import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { networkUp, watchNetwork } from './network.js';

const lo: NetworkInterfaceInfo[] = [
  {
    address: '127.0.0.1',
    netmask: '255.0.0.0',
    family: 'IPv4',
    mac: '00:00:00:00:00:00',
    internal: true,
    cidr: '127.0.0.1/8',
  },
  {
    address: '::1',
    netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    family: 'IPv6',
    mac: '00:00:00:00:00:00',
    internal: true,
    cidr: '::1/128',
    scopeid: 0,
  },
];
const linkLocal: NetworkInterfaceInfo = {
  address: 'fe80::a00:27ff:fe4e:66a1',
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '01:02:03:0a:0b:0c',
  internal: false,
  cidr: 'fe80::a00:27ff:fe4e:66a1/64',
  scopeid: 2,
};
const wifi: NetworkInterfaceInfo = {
  address: '192.168.1.23',
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '01:02:03:0a:0b:0c',
  internal: false,
  cidr: '192.168.1.23/24',
};

afterEach(() => {
  vi.useRealTimers();
});

describe('networkUp', () => {
  test('loopback and link-local addresses alone are no network; a routable address is', () => {
    expect(networkUp({ lo })).toBe(false);
    expect(networkUp({ lo, wlan0: [linkLocal] })).toBe(false);
    expect(networkUp({ lo, wlan0: [linkLocal, wifi] })).toBe(true);
    expect(networkUp({})).toBe(false);
  });
});

describe('watchNetwork', () => {
  test('tells the state at once, then each change (not each look), until stopped', () => {
    vi.useFakeTimers();
    let list: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo, wlan0: [wifi] };
    const seen: boolean[] = [];
    const stop = watchNetwork((up) => seen.push(up), { interval: 1000, interfaces: () => list });
    expect(seen).toEqual([true]);
    vi.advanceTimersByTime(5000);
    list = { lo };
    vi.advanceTimersByTime(1000);
    list = { lo, wlan0: [linkLocal] };
    vi.advanceTimersByTime(3000);
    list = { lo, wlan0: [linkLocal, wifi] };
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([true, false, true]);
    stop();
    list = { lo };
    vi.advanceTimersByTime(10_000);
    expect(seen).toEqual([true, false, true]);
  });

  test('what the callback or the lookup throws goes to onError, and the watch goes on', () => {
    vi.useFakeTimers();
    const errors: string[] = [];
    let fail = true;
    const seen: boolean[] = [];
    const stop = watchNetwork(
      (up) => {
        seen.push(up);
        if (fail) throw new Error('app');
      },
      { interval: 1000, interfaces: () => ({ lo }), onError: (e) => errors.push(String(e)) },
    );
    fail = false;
    vi.advanceTimersByTime(1000);
    expect(errors).toEqual(['Error: app']);
    expect(seen).toEqual([false]);
    stop();
  });

  test('the real interfaces: an answer, and the timer does not hold the process', () => {
    const seen: boolean[] = [];
    const stop = watchNetwork((up) => seen.push(up));
    expect(seen).toHaveLength(1);
    stop();
  });
});
