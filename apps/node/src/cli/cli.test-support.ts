// Test support for the end-to-end tests of the command: the command bundled from sources (by
// scripts/bundle-cli.mjs, once per test file, in beforeAll), spawned as a user would run it,
// with a time limit, and killed after each test if still running.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@umqtt/testkit';
import { afterEach, beforeAll, expect } from 'vitest';

const app = fileURLToPath(new URL('../../', import.meta.url));
let bin = '';
const RUN_LIMIT_MS = 15_000;

export interface Running {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

const running = new Set<Running>();

/** A process kept for a whole suite still ends by itself, after this long. */
const SUITE_LIMIT_MS = 180_000;
const limits = new WeakMap<Running, (ms: number) => void>();

/**
 * Keeps a process that outlives one test (a broker for a whole suite) from the kill after each
 * test; its time limit becomes a suite's.
 */
export function keep(r: Running): void {
  running.delete(r);
  limits.get(r)?.(SUITE_LIMIT_MS);
}

/** Starts `umqtt ...args`; killed after RUN_LIMIT_MS and in afterEach if still running. */
export function start(args: string[], input?: string): Running {
  return startProgram(process.execPath, [bin, ...args], input);
}

/** Runs a program to the end (mosquitto_pub, mosquitto_sub...), as `umqtt()` does the command. */
export async function program(
  file: string,
  args: string[],
  input = '',
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const r = startProgram(file, args, input);
  const code = await r.exited;
  return { code, stdout: r.stdout, stderr: r.stderr };
}

/** Starts any program as `start()` does the command. */
export function startProgram(file: string, args: string[], input?: string): Running {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  // A program that exits without reading its input (mosquitto_sub) closes the pipe: EPIPE is no failure here.
  child.stdin!.on('error', () => {});
  const r: Running = { child, stdout: '', stderr: '', exited: undefined as never };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (r.stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (r.stderr += s));
  let limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  limits.set(r, (ms) => {
    clearTimeout(limit);
    limit = setTimeout(() => child.kill('SIGKILL'), ms);
  });
  // 'close', not 'exit': a program's last output can still be in its pipe when it has exited
  // (mosquitto_sub -C 1 printed its line, and the test read an empty stdout).
  r.exited = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      running.delete(r);
      resolve(code ?? signal ?? -1);
    }),
  );
  running.add(r);
  if (input !== undefined) child.stdin!.end(input);
  return r;
}

/** Runs `umqtt ...args` to the end. */
export async function umqtt(
  args: string[],
  input = '',
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return program(process.execPath, [bin, ...args], input);
}

/** A `umqtt sub` that has its subscription acknowledged (it logs that with -V). */
export async function subscribed(args: string[]): Promise<Running> {
  const r = start(['sub', '-d', ...args]);
  await waitFor(() => r.stderr.includes('subscribed:') || r.child.exitCode !== null, {
    timeout: 10_000,
    message: 'sub subscribed',
  });
  expect(r.stderr).toContain('subscribed:');
  return r;
}

/** `umqtt broker -p 0`: resolves with its port once it prints the address. */
export async function umqttBroker(extra: string[] = []): Promise<{ r: Running; port: number }> {
  const r = start(['broker', '-p', '0', ...extra]);
  const port = await waitFor(
    () =>
      (r.stdout.includes('stop with Ctrl-C') &&
        Number(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(r.stdout)?.[1])) ||
      (r.child.exitCode !== null && -1),
    {
      timeout: 10_000,
      message: 'umqtt broker listening',
    },
  );
  expect(port).toBeGreaterThan(0);
  return { r, port };
}

/** One line on stderr, no stack trace. */
export function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

let topicSeq = 0;
export const uniqueTopic = (name: string) => `umqtt-e2e/${process.pid}/${Date.now()}/${topicSeq++}/${name}`;

/** Bundles the command from sources as `name` and returns the file to run with node. */
export async function bundledCli(name: string): Promise<string> {
  const file = join(app, 'node_modules', '.cache', 'umqtt-cli', `${name}.mjs`);
  await bundle(file);
  return file;
}

/** Bundles the command for this test file (as `name`), and kills what a test left running. */
export function useCli(name: string): void {
  beforeAll(async () => {
    bin = await bundledCli(name);
  }, 60_000);
  afterEach(async () => {
    for (const r of [...running]) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
  });
}

function bundle(file: string): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    execFile(
      process.execPath,
      [join(app, 'scripts', 'bundle-cli.mjs'), file],
      { timeout: 60_000 },
      (error, _stdout, stderr) => (error ? reject(new Error(`build failed: ${error.message}\n${stderr}`)) : resolve()),
    ),
  );
}
