// The --help texts. Kept beside each other so they stay consistent; README.md repeats them.

const CONNECTION = `Broker:
  -L, --url URL            mqtt://[user[:password]@]host[:port] or mqtts://... (TLS)
  -h, --host HOST          broker host (default 127.0.0.1)
  -p, --port PORT          broker port (default 1883, or 8883 with TLS)
  -i, --id ID              client id (default: the broker assigns one)
  -u, --username NAME      user name
  -P, --password SECRET    password (needs a user name)
  -k, --keepalive SECONDS  keepalive interval, 0 = off (default 60)
  -c, --no-clean           keep the session (subscriptions, queued messages) when
                           disconnected, as mosquitto's -c; needs -i
      --will-topic TOPIC   last will: published by the broker if the connection dies
      --will-message TEXT    its payload (default empty)
      --will-qos 0|1|2       its QoS (default 0)
      --will-retain          retain it
TLS (any of these, or an mqtts:// URL, turns TLS on):
      --cafile FILE        trust the CA certificate(s) in FILE (PEM) to verify the broker
      --cert FILE          client certificate (PEM), with --key
      --key FILE           client private key (PEM), with --cert
      --insecure           do NOT verify the broker's certificate (anyone on the path can
                           pretend to be the broker): for testing only
Output:
  -V, --verbose            connection details on stderr, stack traces with errors
      --help               this help`;

const EXIT_CODES = `Exit codes:
  0  done                  3  cannot connect: unknown host, refused, TLS failure
  1  failed after connecting (connection lost, a message not delivered)
  2  bad command line or input (option, URL, topic, QoS, file)
  4  refused by the broker: bad user name or password, not authorized (CONNACK 1..5)
  5  timed out (no CONNACK, sub -W, no acknowledgement)
  130 pub interrupted with messages still unconfirmed`;

export const MAIN_HELP = `umqtt: MQTT 3.1.1 from the command line

Usage:
  umqtt pub -t TOPIC -m MESSAGE [options]    publish
  umqtt sub -t FILTER [-t FILTER...] [options]  subscribe and print messages
  umqtt broker [-p PORT] [-H HOST]          run a local MQTT broker (aedes)
  umqtt demo                                the robust-client demo: an outage survived
  umqtt COMMAND --help                      options of a command

Examples:
  umqtt broker &
  umqtt sub -t 'sensors/#' -v &
  umqtt pub -t sensors/kitchen -m 21.5 -q 1
  tail -f app.log | umqtt pub -t logs/app -s --store ./queue

${EXIT_CODES}
`;

export const PUB_HELP = `Usage: umqtt pub -t TOPIC (-m MESSAGE | -f FILE | -s | -n) [options]

Publishes one message, or one message per line of standard input, and exits when the broker
has acknowledged every one (QoS 1 and 2) or it was written (QoS 0).

Message:
  -t, --topic TOPIC        topic to publish to (no wildcards + or #)
  -m, --message TEXT       the message
  -f, --file FILE          the whole file as one message (binary is fine)
  -s, --stdin              each line of standard input is one message (also -l)
  -n, --null-message       an empty message (e.g. with -r to clear a retained message)
  -q, --qos 0|1|2          QoS (default 0)
  -r, --retain             the broker keeps the message for later subscribers
      --store DIR          robust mode: every message first goes to a queue file in DIR
                           (DIR/queue.flash, 8 MiB, created if missing; messages up to
                           256 KiB). While the broker is down or unreachable umqtt keeps
                           reconnecting (backoff up to 10 s) and sends the queue when it is
                           back; it exits when every message has a final status. Messages
                           still queued at Ctrl-C or after a refusal stay in the file and
                           are sent first by the next umqtt pub --store DIR. One umqtt per DIR.
                           A damaged file: what it lost is reported, exit 1 if messages were.
                           A file that is not a queue umqtt reads is refused (exit 2).
      --store-reset        with --store: start a new queue file (what the old one holds is lost)

${CONNECTION}

${EXIT_CODES}

Examples:
  umqtt pub -t home/door -m open -q 1 -r
  umqtt pub -L mqtts://user:secret@broker.example:8883 -t a/b -m hi --cafile ca.pem
  sensor-reader | umqtt pub -t sensors/t1 -s -q 1 --store /var/lib/umqtt
`;

export const SUB_HELP = `Usage: umqtt sub -t FILTER [-t FILTER...] [options]

Subscribes and prints every message it receives, one per line, until -C messages arrived,
-W seconds passed, or Ctrl-C.

Subscription and output:
  -t, --topic FILTER       topic filter, wildcards allowed (a/+/c, a/#); repeatable
  -q, --qos 0|1|2          QoS to subscribe with (default 0)
  -v, --print-topic        print "topic payload" instead of the payload alone
      --json               one JSON object per line: {"topic","payload","qos","retain"};
                           a payload that is not UTF-8 text is base64 with "base64":true
  -C, --count N            exit 0 after N messages
  -W, --timeout SECONDS    give up after SECONDS: exit 5 unless -C messages arrived

${CONNECTION}

${EXIT_CODES}

Examples:
  umqtt sub -t 'sensors/#' -v
  umqtt sub -t home/door -C 1 -W 10 --json
`;

export const BROKER_HELP = `Usage: umqtt broker [-p PORT] [-H HOST] [--persistence]

Runs an MQTT 3.1.1 broker (aedes) for local use, until Ctrl-C (SIGINT) or SIGTERM; then exits 0.
Anyone who can reach the address can use it: there is no authentication.

Options:
  -p, --port PORT          port to listen on (default 1883; 0 = any free port)
  -H, --host HOST          address to listen on (default 127.0.0.1; 0.0.0.0 = every
                           interface)
      --persistence        keep persistent sessions (clients connecting with clean session
                           off, e.g. umqtt sub -c -i ID): their subscriptions and the QoS 1/2
                           messages that arrive while they are away. Without it every
                           session is clean. Retained messages are always kept.
                           Everything is in memory only, NOT on disk: it is gone when the
                           broker stops.
  -V, --verbose            log clients connecting and disconnecting
      --help               this help

Exit codes: 0 stopped by a signal, 2 bad option, 3 cannot listen (port in use, no permission).
`;

export const DEMO_HELP = `Usage: umqtt demo [--plain]

Starts an embedded broker, a subscriber and a robust publisher with three policies
(temperature readings that may be dropped, button presses that expire, alarms that must
arrive), takes the broker down for a few seconds and brings it back, then prints a summary.

Options:
      --plain              plain progress lines even in a terminal (the default in a pipe)
      --help               this help
`;
