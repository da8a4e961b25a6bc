import { test } from 'vitest';
import { FlashStore, SimulatedFlash } from '../index.js';
test('dbg', async () => {
  const mod = await import('../damage.test-dbg.js');
  const img = mod.build('c', { compact: true, close: true });
  const log = mod.readLog(img.bytes);
  for (const r of log.recs)
    console.log(r.type, r.key, r.at[0], r.at[r.at.length - 1], r.copy, r.state.join(), r.u, r.next);
  console.log('lows', log.lows);
  const bytes = img.bytes.slice();
  for (let p = 1507; p <= 1513; p++) bytes[p] = 0;
  const s = new FlashStore(new SimulatedFlash({ blockSize: 256, blocks: 12, bytes }), {
    maxRecords: 10,
    maxMessageBytes: 400,
  });
  console.log(
    JSON.stringify(s.damage),
    s.messages().map((m) => m.key),
  );
});
