// The virtual day: 20 outages, the three kinds, every alarm delivered once, and the figures of
// the reconnect issue (24) on seed 1: umqtt's defaults, told of its link, and with a larger
// urgency budget. (`pnpm sim day` runs the peers' schedules too.)
import { describe, expect, test } from 'vitest';
import { DAY_CLIENTS, dayFigures, renderClients, renderDay, runDay, type DayClient } from './day.js';

const client = (name: string): DayClient => DAY_CLIENTS.find((c) => c.name === name)!;

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

  test('defaults: at most 40 attempts per outage hour, fewer than 10 brought forward by urgent messages; each alarm once, no stale press', async () => {
    const f = dayFigures(await runDay(1, client('umqtt')));
    expect(f.attemptsPerOutageHour).toBeLessThanOrEqual(40);
    expect(f.urgentExtraAttemptsPerDay).toBeLessThan(10);
    expect(f.alarmsNotOnce).toBe(0);
    expect(f.stalePresses).toBe(0);
  });

  test('told of its link: no attempt while it is down, the alarm within 5 s (90th percentile) of its return', async () => {
    const day = await runDay(1, client('umqtt + link'));
    const f = dayFigures(day);
    expect(f.linkDownAttempts).toBe(0);
    expect(f.alarmP90LinkSeconds).toBeLessThanOrEqual(5);
    expect(f.attemptsPerOutageHour).toBeLessThanOrEqual(40);
    expect(f.alarmsNotOnce).toBe(0);
    expect(f.stalePresses).toBe(0);
    // with urgency allowed 30 an hour: after broker outages too, within a minute (90th percentile)
    const urgent = await runDay(1, client('umqtt + link, urgent 30/h'));
    const u = dayFigures(urgent);
    expect(u.alarmP90BrokerSeconds).toBeLessThanOrEqual(60);
    expect(u.linkDownAttempts).toBe(0);
    expect(u.alarmsNotOnce).toBe(0);
    const table = renderClients([day, urgent]);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toMatch(/attempts\/outage h/);
  });
});
