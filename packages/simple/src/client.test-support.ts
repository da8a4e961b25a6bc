// Test support (not built into dist): an MqttClient on a fake clock against a byte-level
// scripted peer, shared by the client's suites.
import {
  FakeClock,
  ScriptedBroker,
  clockHabitsFromEnv,
  settle,
  type ClockHabits,
  type ScriptedSocket,
} from '@umqtt/testkit';
import { MqttClient, type ClientOptions, type Message, type Status } from './index.js';

export const CONNECT_C1 = '10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31';

// The suite runs once on exact timers and again under other platforms' habits (vitest projects
// set UMQTT_CLOCK): a deadline is then met within SLACK ms, never before it is due.
export const HABITS = clockHabitsFromEnv();
/** How late a deadline may be met under `habits`: never early, at most this many ms late. */
export function slackOf(habits: ClockHabits): number {
  return (habits.late ?? 0) + (habits.tick ?? 0) + (habits.minDelay ?? 0);
}
export const SLACK = slackOf(HABITS);

export function setup(options: Partial<ClientOptions> = {}, habits: ClockHabits = HABITS) {
  const clock = new FakeClock(1000, habits);
  const broker = new ScriptedBroker();
  const client = new MqttClient({ socket: broker.factory, timers: clock, host: 'broker', clientId: 'c1', ...options });
  const statuses: [number, Status, number[]?][] = [];
  const messages: Message[] = [];
  const closes: (Error | undefined)[] = [];
  client.onStatus = (id, status, granted) => statuses.push(granted ? [id, status, granted] : [id, status]);
  client.onMessage = (m) => messages.push(m);
  client.onClose = (e) => closes.push(e);
  return { clock, broker, client, statuses, messages, closes };
}

export async function connected(options: Partial<ClientOptions> = {}, chunk = Infinity, habits: ClockHabits = HABITS) {
  const t = setup(options, habits);
  const done = t.client.connect();
  const sock: ScriptedSocket = t.broker.socket;
  sock.open();
  await settle();
  const connect = sock.take();
  sock.send('20 02 00 00', chunk);
  const sessionPresent = await done;
  return { ...t, sock, connect, sessionPresent };
}
