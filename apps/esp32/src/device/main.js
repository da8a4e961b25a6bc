// umqtt on an ESP32 with the Moddable SDK: a robust MQTT session whose queue lives in a flash
// partition, so messages published while the network or the broker is down are sent when it
// comes back, even after a reboot.
//
// Build (see ../../README.md): pnpm --filter @umqtt/app-esp32 build, then
//   mcconfig -d -m -p esp32 apps/esp32/src/device/manifest.json
// Wi-Fi credentials, broker and topic come from the "config" of manifest.json (or from the
// mcconfig command line: ssid=... password=... broker=...). Wi-Fi is connected by the Moddable
// network set-up (manifest_net.json) before this module runs.
//
// UNTESTED ON HARDWARE: this file and the device glue were only run against stand-ins of the
// Moddable modules, inside XS and QuickJS (apps/esp32/src/*.test.ts).
import config from 'mc/config';
import Timer from 'timer';
import Time from 'time';
import Flash from 'flash';
import Net from 'net';
import TCP from 'embedded:io/socket/tcp';
import UDP from 'embedded:io/socket/udp';
import Resolver from 'embedded:network/dns/resolver/udp';
// dist/robust-flash.js (the "umqtt" module of manifest.json)
import { RobustClient, PRESETS, FlashStore, moddableFlash, tcpSocketFactory, moddableTimers } from 'umqtt';

const topic = config.topic ?? 'umqtt/esp32';
// Host names are looked up with the DNS servers DHCP gave (Net.get("DNS"), read at each
// connection: an empty array when there are none, and then connecting by name fails with
// "no DNS server"). Give the broker as an IP address to need no DNS at all.
const dns = { io: Resolver, servers: () => Net.get('DNS'), socket: { io: UDP } };

// The queue and the in-flight state live in the flash partition: a power cut at any moment
// loses nothing that publish() accepted. Payloads stay on flash; each held message still takes
// RAM (about 370 bytes in XS on an ESP32, see README.md), so the queue holds at most 100: the
// manifest's `creation` is sized for that.
const store = new FlashStore(moddableFlash(new Flash(config.partition ?? 'storage')), { maxRecords: 200 });

const client = new RobustClient({
  socket: tcpSocketFactory(TCP, { dns }),
  timers: moddableTimers(Timer, Time),
  servers: [{ host: config.broker, port: Number(config.port ?? 1883) }],
  clientId: config.clientId ?? 'umqtt-esp32',
  keepAlive: 60,
  store,
  policy: { maxMessages: 100 },
});

const text = (bytes) => String.fromArrayBuffer(bytes.slice().buffer);
client.onState = (state) => trace(`mqtt: ${state}\n`);
client.onStatus = (key, status, reason) => trace(`message ${key}: ${status}${reason ? ` (${reason})` : ''}\n`);
client.onMessage = (m) => trace(`${m.topic} (QoS ${m.qos}): ${text(m.payload)}\n`);

trace(`umqtt: ${store.count} message(s) kept in flash from before the restart\n`);
client.subscribe(`${topic}/#`, 2); // our own messages come back: a round trip at QoS 0, 1 and 2
client.start();

// QoS 2, highest priority, never dropped: sent once, even if the device reboots first.
client.publish(`${topic}/alarm`, `boot at ${Date.now()}`, PRESETS.alarm);

let n = 0;
Timer.repeat(() => {
  n++;
  // QoS 0 reading: while offline at most 10 are kept, the oldest give way.
  client.publish(`${topic}/temperature`, String(20 + Math.round(Math.random() * 50) / 10), PRESETS.temperature);
  // QoS 1 button press: worth sending for 15 s, then it expires (status "expired").
  if (n % 6 === 0) client.publish(`${topic}/button`, String(n), PRESETS.button);
}, 5000);
