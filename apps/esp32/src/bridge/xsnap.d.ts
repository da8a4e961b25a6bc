// The part of @agoric/xsnap's Node API the XS driver uses (the package ships no types).
declare module '@agoric/xsnap' {
  export interface XsnapOptions {
    os: string;
    spawn: typeof import('node:child_process').spawn;
    fs: object;
    name?: string;
    handleCommand?: (request: Uint8Array) => Promise<Uint8Array>;
    meteringLimit?: number;
    stdout?: 'ignore' | 'inherit' | 'pipe';
    stderr?: 'ignore' | 'inherit' | 'pipe';
  }
  export interface RunResult {
    reply: Uint8Array;
    meterUsage: { currentHeapCount: number | null; allocate: number | null; compute: number | null };
  }
  export interface Xsnap {
    issueCommand(message: Uint8Array): Promise<RunResult>;
    evaluate(code: string): Promise<RunResult>;
    import(fileName: string): Promise<void>;
    makeSnapshotStream(description?: string): AsyncIterable<Uint8Array>;
    close(): Promise<void>;
    terminate(): Promise<void>;
  }
  export function xsnap(options: XsnapOptions): Promise<Xsnap>;
}
