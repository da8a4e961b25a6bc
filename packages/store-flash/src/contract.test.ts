// FlashStore against the shared Store contract, with reopen = mount the same flash again.
import { storeContract } from '@umqtt/testkit';
import { FlashStore, SimulatedFlash, type FlashStoreOptions } from './index.js';

// The contract stores a 64 KiB payload and wants at least 128 KiB of capacity.
const options: FlashStoreOptions = { maxMessageBytes: 70_000, maxRecords: 1000 };

storeContract(
  'FlashStore (4 KiB blocks, 512 KiB)',
  () => new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 128 }), options),
  {
    reopen: (s) => new FlashStore((s as FlashStore).flash, options),
  },
);

// Small blocks: every message spans blocks, and compaction runs all the time.
storeContract(
  'FlashStore (256-byte blocks, 320 KiB)',
  () => new FlashStore(new SimulatedFlash({ blockSize: 256, blocks: 1280 }), options),
  {
    reopen: (s) => new FlashStore((s as FlashStore).flash, options),
  },
);

// Reopened on a copy of the bytes (what a reboot sees), not on the same object.
storeContract(
  'FlashStore (reopened from a snapshot)',
  () => new FlashStore(new SimulatedFlash({ blockSize: 4096, blocks: 96 }), options),
  {
    reopen: (s) => new FlashStore(((s as FlashStore).flash as SimulatedFlash).clone(), options),
  },
);
