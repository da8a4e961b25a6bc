// The Store types: testkit's contract suite spells the Store shape out (testkit cannot import
// robust), so this checks at compile time (tsc -p tsconfig.test.json) that the two stay the same,
// and at run time that the stage numbers and the byte measure are what the contract assumes.
import { expect, expectTypeOf, test, vi } from 'vitest';
import type { ContractNewMessage, ContractStore, ContractStoredMessage } from '@umqtt/testkit';
import { QUEUED, RELEASING, SENT, messageBytes, type NewMessage, type Store, type StoredMessage } from './index.js';

test("testkit's contract types are exactly robust's Store types", () => {
  expectTypeOf<ContractStore>().toEqualTypeOf<Store>();
  expectTypeOf<ContractStoredMessage>().toEqualTypeOf<StoredMessage>();
  expectTypeOf<ContractNewMessage>().toEqualTypeOf<NewMessage>();
});

test('stage numbers are the ones the contract suite uses', () => {
  expect([QUEUED, SENT, RELEASING]).toEqual([0, 1, 2]);
});

test('messageBytes counts the topic in UTF-8 bytes plus the payload length', () => {
  expect(messageBytes({ topic: 'a/b', payload: new Uint8Array(5) })).toBe(8);
  expect(messageBytes({ topic: '', payload: new Uint8Array(0) })).toBe(0);
  // UTF-8 bytes, as in the packet and on flash: 'ü' is 2 bytes, '€' 3, an emoji (2 UTF-16 units) 4
  expect(messageBytes({ topic: 'küche', payload: new Uint8Array(1) })).toBe(7);
  expect(messageBytes({ topic: '€/😀', payload: new Uint8Array(0) })).toBe(8);
});

test('messageBytes remembers the last topic, never a missing one, even as the first call', async () => {
  vi.resetModules();
  const fresh = (await import('./store.js')).messageBytes; // nothing remembered yet
  expect(() => fresh({ topic: undefined as unknown as string, payload: new Uint8Array(5) })).toThrow();
  expect(fresh({ topic: 'küche', payload: new Uint8Array(5) })).toBe(11);
  expect(fresh({ topic: 'küche', payload: new Uint8Array(1) })).toBe(7);
  expect(fresh({ topic: 'kuche', payload: new Uint8Array(1) })).toBe(6);
});
