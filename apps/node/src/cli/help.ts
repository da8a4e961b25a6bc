// The --help texts. Kept beside each other so they stay consistent; README.md repeats them.

const CONNECTION = `Broker:
  -L, --url URL            mqtt://[user[:password]@]host[:port] or mqtts://... (TLS);
                           ws://host[:port]/path or wss://... (MQTT over WebSocket)
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
TLS (any of these, or an mqtts:// or wss:// URL, turns TLS on):
      --cafile FILE        trust the CA certificate(s) in FILE (PEM) to verify the broker
      --capath DIR         trust the CA certificates (PEM) in the files of DIR
      --cert FILE          client certificate (PEM), with --key
      --key FILE           client private key (PEM), with --cert
      --insecure           do NOT verify the broker's certificate (anyone on the path can
                           pretend to be the broker): for testing only
Protocol and output:
  -V, --protocol-version V 311 or mqttv311 (the default), 5 or mqttv5 (31 is refused)
  -D, --property CMD NAME VALUE
                           an MQTT 5 property (needs -V 5), as mosquitto: CMD connect,
                           publish, subscribe, disconnect or will; NAME e.g.
                           message-expiry-interval, content-type, response-topic,
                           correlation-data, session-expiry-interval, or user-property
                           KEY VALUE
  -d, --debug              connection details on stderr, stack traces with errors (also
                           --verbose)
      --quiet              print nothing on stderr: the exit code says what happened
      --version            the version of umqtt
      --help               this help
An option's value is the next argument even when it starts with "-" (-m -5), as in mosquitto.`;

const EXIT_CODES = `Exit codes:
  0  done                  3  cannot connect: unknown host, refused, TLS failure
  1  failed after connecting (connection lost, a message not delivered)
  2  bad command line or input (option, URL, topic, QoS, file)
  4  refused by the broker: bad user name or password, not authorized (CONNACK 1..5, or an
     MQTT 5 reason code), or a message refused with a reason code
  5  timed out (no CONNACK, sub -W, no acknowledgement)
  130 pub interrupted with messages still unconfirmed`;

export const MAIN_HELP = `umqtt: MQTT 3.1.1 and 5 from the command line

Usage:
  umqtt pub -t TOPIC -m MESSAGE [options]    publish
  umqtt sub -t FILTER [-t FILTER...] [options]  subscribe and print messages
  umqtt broker [-p PORT] [-H HOST]          run a local MQTT broker (aedes); --redis URL:
                                            one node of a cluster
  umqtt demo                                the robust-client demo: an outage survived
  umqtt COMMAND --help                      options of a command

Examples:
  umqtt broker &
  umqtt sub -t 'sensors/#' -v &
  umqtt pub -t sensors/kitchen -m 21.5 -q 1
  tail -f app.log | umqtt pub -t logs/app -l --store ./queue

${EXIT_CODES}
`;

export const PUB_HELP = `Usage: umqtt pub -t TOPIC (-m MESSAGE | -f FILE | -s | -l | -n) [options]

Publishes one message, or one message per line of standard input, and exits when the broker
has acknowledged every one (QoS 1 and 2) or it was written (QoS 0).

Message:
  -t, --topic TOPIC        topic to publish to (no wildcards + or #); or in the URL:
                           -L mqtt://host/TOPIC
  -m, --message TEXT       the message
  -f, --file FILE          the whole file as one message (binary is fine); -f - reads
                           standard input
  -s, --stdin              all of standard input is one message (binary is fine)
  -l, --lines              each line of standard input is one message
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
                           The file is flushed to the disk in groups: with -l, the next line
                           is read only while fewer than 256 read lines are not yet on the
                           disk (-d tells how many are); a killed umqtt or a power cut loses
                           none of those that were.
                           A damaged file: what it lost is reported, exit 1 if messages were.
                           A file that is not a queue umqtt reads is refused (exit 2).
      --store-reset        with --store: start a new queue file (what the old one holds is lost)

${CONNECTION}

${EXIT_CODES}

Examples:
  umqtt pub -t home/door -m open -q 1 -r
  umqtt pub -L mqtts://user:secret@broker.example:8883 -t a/b -m hi --cafile ca.pem
  sensor-reader | umqtt pub -t sensors/t1 -l -q 1 --store /var/lib/umqtt
  umqtt pub -L ws://127.0.0.1:8080/mqtt -t a/b -m hi
`;

export const SUB_HELP = `Usage: umqtt sub -t FILTER [-t FILTER...] [options]

Subscribes and prints every message it receives, one per line, until -C messages arrived,
-W seconds passed, or Ctrl-C.

Subscription and output:
  -t, --topic FILTER       topic filter, wildcards allowed (a/+/c, a/#); repeatable; or in
                           the URL: -L mqtt://host/FILTER
  -q, --qos 0|1|2          QoS to subscribe with (default 0)
  -v, --print-topic        print "topic payload" instead of the payload alone
      --json               one JSON object per line: {"topic","payload","qos","retain"};
                           a payload that is not UTF-8 text is base64 with "base64":true
  -F, --format FORMAT      mosquitto_sub's output format: %t topic, %p payload, %q QoS,
                           %r retained, %l length, %x/%X hex, %I ISO time, %U Unix time,
                           %j/%J JSON, %%; flags and widths (%-20.20t); @Y @m @d @H @M @S
                           @N (strftime); escapes \\n \\t \\\\ \\0 \\e
  -N, --no-newline         no newline after each message
  -R, --no-retained        skip stale messages (those with the retain flag); not counted by -C
  -C, --count N            exit 0 after N messages
  -W, --timeout SECONDS    give up after SECONDS: exit 5 unless -C messages arrived

${CONNECTION}

${EXIT_CODES}

Examples:
  umqtt sub -t 'sensors/#' -v
  umqtt sub -t home/door -C 1 -W 10 --json
  umqtt sub -t 'sensors/#' -F '%I %t %p'
`;

export const BROKER_HELP = `Usage: umqtt broker [-p PORT] [-H HOST] [--ws-port PORT] [--persistence]
       umqtt broker --redis URL [--id NODE] [-p PORT] [-H HOST] [--ws-port PORT]

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
      --redis URL          run as one node of a cluster: every node started with the same
                           Redis (redis://[[user]:password@]host[:port][/db], rediss://
                           for TLS) shares sessions, subscriptions, retained and in-flight
                           messages (kept in Redis, implies --persistence), and messages
                           published on one node reach subscribers on every node. A client
                           that loses its node resumes its session on another. Needs the
                           packages mqemitter-redis and aedes-persistence-redis.
      --id NODE            this node's name (letters, digits, _ and -; default: the host
                           name); each start runs as NODE-<start time>
      --ws-port PORT       also accept MQTT over WebSocket on PORT (0 = any free port)
      --ws-path PATH       only at PATH, e.g. /mqtt (default: any path)
  -v, --verbose            log clients connecting and disconnecting
      --quiet              print nothing on stderr
      --help               this help

Needs the aedes package beside umqtt (npm install aedes); with --redis also mqemitter-redis
and aedes-persistence-redis.

Exit codes: 0 stopped by a signal, 1 aedes (or a Redis package) is not installed, 2 bad option
or Redis URL, 3 cannot listen (port in use, no permission) or cannot reach Redis.
`;

export const DEMO_HELP = `Usage: umqtt demo [--plain] [-V 5 [--mosquitto PATH]]

Starts an embedded broker, a subscriber and a robust publisher with three policies
(temperature readings that may be dropped, button presses that expire, alarms that must
arrive), takes the broker down for a few seconds and brings it back, then prints a summary.

Options:
      --plain              plain progress lines even in a terminal (the default in a pipe)
  -V, --protocol-version V 311 or mqttv311 (the default), 5 or mqttv5: the same over MQTT 5,
                           through Mosquitto (the embedded broker speaks MQTT 3.1.1 only),
                           started on a free loopback port, stopped and started for the outage
      --mosquitto PATH     the Mosquitto executable for -V 5 (default: mosquitto on PATH)
      --help               this help
`;
