// The virtual day: 20 outages, the three kinds, every alarm delivered once, and the figures of
// the reconnect issue (24): umqtt's defaults on seed 1 and over seeds 1 to 8, told of its link,
// and the schedule of the previous defaults. (`pnpm sim day` runs the peers' schedules too.)
import { describe, expect, test } from 'vitest';
import {
  DAY_CLIENTS,
  dayFigures,
  renderClients,
  renderDay,
  renderSummaries,
  runDay,
  summarizeDays,
  type DayClient,
} from './day.js';

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

  test('defaults: at most 40 attempts per outage hour, fewer than 10 brought forward by urgent messages, the alarm p90 within 60 s of the broker; each alarm once, no stale press', async () => {
    const f = dayFigures(await runDay(1, client('umqtt')));
    expect(f.attemptsPerOutageHour).toBeLessThanOrEqual(40);
    expect(f.urgentExtraAttemptsPerDay).toBeLessThan(10);
    expect(f.alarmP90BrokerSeconds).toBeLessThanOrEqual(60);
    expect(f.alarmsNotOnce).toBe(0);
    expect(f.stalePresses).toBe(0);
  });

  test('defaults over seeds 1 to 8: the same on average, the alarm p90 after broker outages within 60 s on every seed', async () => {
    const days = [];
    for (let seed = 1; seed <= 8; seed++) days.push(await runDay(seed, client('umqtt')));
    const s = summarizeDays(days);
    expect(s.figures.attemptsPerOutageHour.mean).toBeLessThanOrEqual(40);
    expect(s.attemptsPerOutageHourPooled).toBeLessThanOrEqual(40);
    expect(s.figures.urgentExtraAttemptsPerDay.mean).toBeLessThan(10);
    expect(s.figures.alarmP90BrokerSeconds.max).toBeLessThanOrEqual(60);
    expect(s.seedsAlarmBrokerOver60).toBe(0);
    expect(s.figures.alarmsNotOnce.max).toBe(0);
    expect(s.figures.stalePresses.max).toBe(0);
    const table = renderSummaries([s]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toMatch(/attempts\/outage h \(pooled\)/);
  });

  test('told of its link: no attempt while it is down, the alarm within 5 s (90th percentile) of its return', async () => {
    const day = await runDay(1, client('umqtt + link'));
    const f = dayFigures(day);
    expect(f.linkDownAttempts).toBe(0);
    expect(f.alarmP90LinkSeconds).toBeLessThanOrEqual(5);
    expect(f.alarmP90BrokerSeconds).toBeLessThanOrEqual(60);
    expect(f.attemptsPerOutageHour).toBeLessThanOrEqual(40);
    expect(f.alarmsNotOnce).toBe(0);
    expect(f.stalePresses).toBe(0);
    // the previous defaults' schedule (factor 3 up to 200 s whatever waits): the alarm waits minutes
    const before = await runDay(1, client('umqtt, 200 s cap'));
    expect(dayFigures(before).alarmP90BrokerSeconds).toBeGreaterThan(60);
    const table = renderClients([day, before]);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toMatch(/attempts\/outage h/);
    expect(table).toMatch(/back online: mean/);
  });
});
