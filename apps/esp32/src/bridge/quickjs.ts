// The QuickJS driver: QuickJS compiled to WebAssembly (quickjs-emscripten), one runtime per
// engine with a memory limit, in this process. The harness is evaluated as a module; its import
// of the device bundle goes through the runtime's module loader, which reads the file.
// `issueCommand` is a host function that reaches BridgeHost.request synchronously; events are
// calls of the global `handleCommand`, followed by the runtime's pending jobs.
import { readFileSync } from 'node:fs';
import { getQuickJS, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime } from 'quickjs-emscripten';
import type { BridgeHost, EngineDriver } from './host.js';

export interface QuickJsOptions {
  /** Bytes the runtime may allocate. Default 4 MiB. */
  memoryLimit?: number | undefined;
}

export interface QuickJsDriver extends EngineDriver {
  /** Bytes the runtime has allocated now (QuickJS's memory_used_size). */
  memory(): number;
  /** The most memory_used_size seen after any event, since start or resetPeak(). */
  readonly peak: number;
  resetPeak(): void;
}

/** Starts a QuickJS runtime, loads `harnessFile` and attaches it to `host`. */
export async function startQuickJs(
  host: BridgeHost,
  harnessFile: string,
  options: QuickJsOptions = {},
): Promise<QuickJsDriver> {
  const QuickJS = await getQuickJS();
  const rt: QuickJSRuntime = QuickJS.newRuntime();
  rt.setMemoryLimit(options.memoryLimit ?? 4 * 1024 * 1024);
  rt.setMaxStackSize(512 * 1024);
  rt.setModuleLoader((name) => readFileSync(name, 'utf8'));
  const vm: QuickJSContext = rt.newContext();

  const issue = vm.newFunction('issueCommand', (buffer: QuickJSHandle) => {
    const view = vm.getArrayBuffer(buffer);
    const request = view.value.slice();
    view.dispose();
    const answer = host.request(request);
    return vm.newArrayBuffer(answer.slice().buffer);
  });
  vm.setProp(vm.global, 'issueCommand', issue);
  issue.dispose();

  const memory = () => {
    const h = rt.computeMemoryUsage();
    const used = (vm.dump(h) as { memory_used_size: number }).memory_used_size;
    h.dispose();
    return used;
  };
  const drain = () => {
    const jobs = rt.executePendingJobs(-1);
    if (jobs.error) {
      const e = vm.dump(jobs.error);
      jobs.error.dispose();
      throw new Error(`QuickJS: a promise job threw: ${JSON.stringify(e)}`);
    }
  };

  const loaded = vm.evalCode(readFileSync(harnessFile, 'utf8'), harnessFile, { type: 'module' });
  if (loaded.error) {
    const e = vm.dump(loaded.error);
    loaded.error.dispose();
    throw new Error(`QuickJS: loading ${harnessFile} failed: ${JSON.stringify(e)}`);
  }
  loaded.value.dispose();
  drain();

  let peak = memory();
  let closed = false;
  const driver: QuickJsDriver = {
    name: 'quickjs',
    async deliver(frame) {
      if (closed) throw new Error('QuickJS runtime closed');
      const fn = vm.getProp(vm.global, 'handleCommand');
      const arg = vm.newArrayBuffer(frame.slice().buffer);
      const result = vm.callFunction(fn, vm.undefined, arg);
      fn.dispose();
      arg.dispose();
      if (result.error) {
        const e = vm.dump(result.error);
        result.error.dispose();
        throw new Error(`QuickJS: handleCommand threw: ${JSON.stringify(e)}`);
      }
      const view = vm.getArrayBuffer(result.value);
      const answer = view.value.slice();
      view.dispose();
      result.value.dispose();
      drain();
      const used = memory();
      if (used > peak) peak = used;
      return answer;
    },
    memory,
    get peak() {
      return peak;
    },
    resetPeak() {
      peak = memory();
    },
    async close() {
      if (closed) return;
      closed = true;
      vm.dispose();
      rt.dispose();
    },
  };
  host.attach(driver);
  return driver;
}
