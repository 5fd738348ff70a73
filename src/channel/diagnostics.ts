/**
 * `node:diagnostics_channel`, where the runtime has it, looked up at run time: the core stays free of
 * `node:` imports (it bundles for browsers), and a runtime without the module (a browser, a worker)
 * gets silent channels that report no subscriber, so nothing is built nor published there.
 *
 * Node 20.16 and later, Bun and Deno expose it through `process.getBuiltinModule`; where that is
 * missing or throws, nothing is loaded.
 *
 * @internal
 */

/** A named channel of `node:diagnostics_channel`, as far as the library publishes on it. */
export interface DiagnosticsChannel {
  /** Whether anybody subscribed: checked before any payload is built. */
  readonly hasSubscribers: boolean;
  /** Hands `message` to every subscriber, synchronously. */
  publish(message: unknown): void;
  /** Runs `fn` with the stores bound to this channel set from `context` (a `TracingChannel`'s start). */
  runStores?<R>(context: unknown, fn: () => R): R;
}

/** The five channels of a `TracingChannel` (`tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd`, `:error`). */
export interface TracingChannels {
  readonly start: DiagnosticsChannel;
  readonly end: DiagnosticsChannel;
  readonly asyncStart: DiagnosticsChannel;
  readonly asyncEnd: DiagnosticsChannel;
  readonly error: DiagnosticsChannel;
}

/** What the library uses of the module. */
interface DiagnosticsModule {
  channel(name: string): DiagnosticsChannel;
}

/** The channel of a runtime without diagnostics_channel: nobody can subscribe to it. */
const SILENT: DiagnosticsChannel = Object.freeze({ hasSubscribers: false, publish(): void {} });

function load(): DiagnosticsModule | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.("node:diagnostics_channel") as
      | Partial<DiagnosticsModule>
      | undefined;
    return typeof mod?.channel === "function" ? (mod as DiagnosticsModule) : undefined;
  } catch {
    return undefined;
  }
}

const diagnostics = load();

/** Whether this runtime has diagnostics_channel (else every channel here is silent). */
export const hasDiagnostics: boolean = diagnostics !== undefined;

/**
 * The named channel `name`, or a silent one where the runtime has no diagnostics_channel. Held for
 * the life of the module: Node keeps a channel object only while somebody references it.
 */
export function diagnosticsChannel(name: string): DiagnosticsChannel {
  return diagnostics?.channel(name) ?? SILENT;
}

/**
 * The channels of the `TracingChannel` `name`, by the names Node's `tracingChannel(name)` uses, so a
 * subscriber through `tracingChannel(name).subscribe({...})` hears them.
 */
export function tracingChannels(name: string): TracingChannels {
  return Object.freeze({
    start: diagnosticsChannel(`tracing:${name}:start`),
    end: diagnosticsChannel(`tracing:${name}:end`),
    asyncStart: diagnosticsChannel(`tracing:${name}:asyncStart`),
    asyncEnd: diagnosticsChannel(`tracing:${name}:asyncEnd`),
    error: diagnosticsChannel(`tracing:${name}:error`),
  });
}

/** Whether any channel of `tracing` has a subscriber. */
export function isTraced(tracing: TracingChannels): boolean {
  return (
    tracing.start.hasSubscribers ||
    tracing.end.hasSubscribers ||
    tracing.asyncStart.hasSubscribers ||
    tracing.asyncEnd.hasSubscribers ||
    tracing.error.hasSubscribers
  );
}

/** Milliseconds on a monotonic clock (`performance.now()` where there is one). */
export function now(): number {
  const perf = (globalThis as { performance?: { now?: () => number } }).performance;
  return typeof perf?.now === "function" ? perf.now() : Date.now();
}
