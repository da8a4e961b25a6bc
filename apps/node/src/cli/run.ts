// The `umqtt` dispatcher: picks the command, runs it, and turns any failure into one line on
// stderr (the stack traces too with --verbose) and an exit code.
import { Writable } from 'node:stream';
import { runDemo } from '../demo/index.js';
import { broker } from './broker.js';
import { CliError, EXIT, details, errorLine, explain, usage } from './errors.js';
import { DEMO_HELP, MAIN_HELP } from './help.js';
import { parse, flag, protocolVersion } from './args.js';
import type { Io } from './io.js';
import { version } from './version.js';
import { pub } from './pub.js';
import { sub } from './sub.js';

const COMMANDS: Readonly<Record<string, (args: string[], io: Io) => Promise<number>>> = {
  pub,
  sub,
  broker,
  demo,
};

async function demo(args: string[], io: Io): Promise<number> {
  const { values: v } = parse('demo', args, {
    plain: { type: 'boolean' },
    help: { type: 'boolean' },
    'protocol-version': { type: 'string', short: 'V' },
    mosquitto: { type: 'string' },
  });
  if (flag(v, 'help')) {
    io.stdout.write(DEMO_HELP);
    return EXIT.OK;
  }
  const version = protocolVersion(v['protocol-version'] as string | undefined);
  if (v.mosquitto !== undefined && version !== 5)
    throw usage('--mosquitto is the broker of the MQTT 5 demo', 'add -V 5 (or -V mqttv5)');
  return runDemo({
    interactive: Boolean(io.stdout.isTTY) && !flag(v, 'plain'),
    out: (line) => void io.stdout.write(`${line}\n`),
    protocolVersion: version,
    mosquitto: v.mosquitto as string | undefined,
  });
}

/** Runs `umqtt ARGS...`; resolves with the exit code. Never throws. */
export async function run(argv: string[], processIo: Io): Promise<number> {
  const [name, ...args] = argv;
  const verbose = argv.some((a) => a === '-d' || a === '--debug' || a === '--verbose');
  // --quiet, as mosquitto's: nothing on stderr, the exit code says what happened.
  const quiet = argv.includes('--quiet');
  const io: Io = quiet
    ? { ...processIo, stderr: new Writable({ write: (_chunk, _encoding, done) => done() }) }
    : processIo;
  let command = '';
  try {
    if (name === '--version' || (name !== undefined && args.includes('--version'))) {
      io.stdout.write(`umqtt ${version()} (@umqtt/node), MQTT 3.1.1 and 5\n`);
      return EXIT.OK;
    }
    if (name === undefined || name === '--help' || name === 'help') {
      const topic = name === 'help' ? args[0] : undefined;
      if (topic !== undefined && COMMANDS[topic]) return await COMMANDS[topic]!(['--help'], io);
      (name === undefined ? io.stderr : io.stdout).write(MAIN_HELP);
      return name === undefined ? EXIT.USAGE : EXIT.OK;
    }
    const fn = COMMANDS[name];
    if (!fn) {
      const hint = `commands: ${Object.keys(COMMANDS).join(', ')}; see: umqtt --help`;
      throw usage(name.startsWith('-') ? `expected a command before "${name}"` : `unknown command "${name}"`, hint);
    }
    command = name;
    return await fn(args, io);
  } catch (e) {
    const error = e instanceof CliError ? e : explain(e, undefined);
    io.stderr.write(`${errorLine(command, error)}\n`);
    if (verbose) for (const d of details(error)) io.stderr.write(`${d}\n`);
    return error.exitCode;
  }
}
