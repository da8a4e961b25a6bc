// pnpm sim: runs seeds of the simulation, replays one, or runs the virtual day.
//
//   pnpm sim                        2000 seeds from 1 (what pnpm test runs)
//   pnpm sim --seeds N [--from S]   N seeds from S, with a progress line
//   pnpm sim --seed S [--full]      one seed with its trace (the whole trace with --full)
//   pnpm sim day [--seed S] [--json]   a virtual day of a device with each client, and the tables
//   pnpm sim day --seeds N [--from S] [--json]   N days (seeds S..) with each client: mean, spread
//   pnpm sim aedes                  the scripted exchanges (3.1.1, MQTT 5) against Mosquitto and aedes: where they differ
import { DAY_CLIENTS, dayFigures, renderClients, renderDay, renderSummaries, runDay, summarizeDays } from './day.js';
import { explain, replayCommand } from './explain.js';
import { runSeed } from './scenario.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function seeds(from: number, count: number): Promise<number> {
  const failed: number[] = [];
  const started = performance.now();
  const tty = process.stdout.isTTY;
  let virtual = 0;
  for (let i = 0; i < count; i++) {
    const seed = from + i;
    const result = await runSeed(seed);
    virtual += result.virtual;
    if (!result.ok) {
      failed.push(seed);
      if (tty) process.stdout.write('\n');
      console.log(`FAIL seed ${seed}: ${result.violation!.invariant}: ${result.violation!.detail}`);
      console.log(`  replay: ${replayCommand(seed, result.mqtt5)}`);
    }
    const done = i + 1;
    if (tty || done === count || done % Math.max(1, Math.floor(count / 10)) === 0) {
      const s = (performance.now() - started) / 1000;
      const line = `seeds ${from}..${seed}: ${done}/${count} run, ${failed.length} failed, ${s.toFixed(1)} s (${(virtual / 3_600_000) | 0} virtual hours)`;
      if (tty) process.stdout.write(`\r${line}`);
      else console.log(line);
    }
  }
  if (tty) process.stdout.write('\n');
  if (failed.length) {
    console.log(`\n${failed.length} seed(s) failed: ${failed.join(' ')}\n`);
    const first = await runSeed(failed[0]!, { trace: true });
    console.log(explain(first));
  }
  return failed.length ? 1 : 0;
}

/** Plays the parity scripts (3.1.1, MQTT 5) against a real Mosquitto and an embedded aedes; prints the steps that differ. */
async function compareAedes(): Promise<number> {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startAedes, startMosquitto } = await import('@umqtt/testkit');
  const { ACL_FILE, SCRIPT, SCRIPT5, describeStep, play, tcpRunner } = await import('./parity.js');
  const dir = await mkdtemp(join(tmpdir(), 'umqtt-sim-acl-'));
  await writeFile(join(dir, 'acl'), ACL_FILE);
  const mosquitto = await startMosquitto({ extraConfig: [`acl_file ${join(dir, 'acl')}`] });
  const aedes = await startAedes();
  try {
    for (const [name, script] of [
      ['MQTT 3.1.1', SCRIPT],
      ['MQTT 5', SCRIPT5],
    ] as const) {
      const m = await play(tcpRunner(mosquitto.port), script);
      const a = await play(tcpRunner(aedes.port), script);
      let differ = 0;
      for (let i = 0; i < script.length; i++) {
        if (JSON.stringify(m[i]) === JSON.stringify(a[i])) continue;
        differ++;
        console.log(
          `${describeStep(i, script)}\n  mosquitto ${JSON.stringify(m[i])}\n  aedes     ${JSON.stringify(a[i])}`,
        );
      }
      console.log(`${name}: ${differ} of ${script.length} steps differ\n`);
    }
  } finally {
    await mosquitto.stop();
    await aedes.close();
    await rm(dir, { recursive: true, force: true });
  }
  return 0;
}

async function main(): Promise<number> {
  if (process.argv.includes('day') && arg('seeds') !== undefined) {
    const from = Number(arg('from') ?? 1);
    const count = Number(arg('seeds'));
    const summaries = [];
    for (const client of DAY_CLIENTS) {
      const days = [];
      for (let seed = from; seed < from + count; seed++) days.push(await runDay(seed, client));
      summaries.push(summarizeDays(days));
    }
    if (process.argv.includes('--json')) console.log(JSON.stringify(summaries, null, 2));
    else {
      console.log(
        `The days of seeds ${from} to ${from + count - 1} with each client: mean ± sd [min..max] over the seeds\n`,
      );
      console.log(renderSummaries(summaries));
    }
    return 0;
  }
  if (process.argv.includes('day')) {
    const seed = Number(arg('seed') ?? 1);
    const days = [];
    for (const client of DAY_CLIENTS) days.push(await runDay(seed, client));
    if (process.argv.includes('--json')) console.log(JSON.stringify(days.map(dayFigures), null, 2));
    else {
      console.log(renderDay(days[0]!));
      console.log(`\nThe same day (seed ${seed}) with each client:\n`);
      console.log(renderClients(days));
      console.log('');
      for (const d of days) console.log(`  ${d.client.name}: ${d.client.about} (${d.cpuMs.toFixed(0)} ms)`);
    }
    return 0;
  }
  if (process.argv.includes('aedes')) return compareAedes();
  const one = arg('seed');
  if (one !== undefined) {
    const result = await runSeed(Number(one), { trace: true });
    if (process.argv.includes('--full')) console.log(result.trace!.lines.join('\n'));
    console.log(explain(result));
    if (result.summary) console.log('\nsummary', result.summary);
    return result.ok ? 0 : 1;
  }
  return seeds(Number(arg('from') ?? 1), Number(arg('seeds') ?? 2000));
}

process.exitCode = await main();
