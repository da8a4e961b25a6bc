// The virtual day: 20 outages, the three kinds, every alarm delivered, and a table to read.
import { describe, expect, test } from 'vitest';
import { renderDay, runDay } from './day.js';

describe('a virtual day of a device', () => {
  test('every alarm raised during the day is delivered, and the table says what became of the rest', async () => {
    const day = await runDay(1);
    expect(day.outages).toHaveLength(20);
    const alarm = day.rows.find((r) => r.kind === 'alarm')!;
    expect(alarm.published).toBeGreaterThanOrEqual(20);
    expect(alarm.delivered).toBe(alarm.published);
    for (const row of day.rows) {
      expect(row.pending).toBe(0);
      expect(row.delivered + row.sent + row.expired + row.dropped + row.rejected).toBe(row.published);
    }
    expect(day.alarmLatency).toHaveLength(20);
    expect(day.outageAttempts).toBeGreaterThan(0);
    const table = renderDay(day);
    expect(table).toMatch(/per outage hour/);
    expect(table).toMatch(/per delivered message/);
    expect(table).toMatch(/broker back -> first alarm delivered/);
  });
});
