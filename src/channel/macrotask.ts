/**
 * One turn of the macrotask queue, with what the runtime has. The channel core yields here every so
 * often so that a run of operations that never wait cannot starve timers and I/O, and the gRPC
 * senders wait here a whole turn before deciding that nobody observed a refusal.
 *
 * - `setImmediate` where present (Node, Bun, Deno): it runs after pending I/O callbacks and before
 *   the next timers, exactly the turn we want, at no extra cost.
 * - Otherwise a `MessageChannel` (browsers, workers): a posted message is a task of its own, so
 *   rendering, input and other tasks run between two of them, and it is not clamped to 4 ms as a
 *   nested `setTimeout` is; every eighth turn is a `setTimeout` instead, so that due timers run too.
 * - Otherwise `setTimeout(task, 0)`, which every JavaScript runtime has.
 *
 * Chosen once, when the module loads.
 *
 * @internal
 */

/** Of the `MessageChannel` path's turns, every this many is a `setTimeout` turn instead. */
const TIMER_TURN = 8;

/** Runs `task` on a later turn of the macrotask queue. */
export type Macrotask = (task: () => void) => void;

/** The globals {@link pickMacrotask} looks at, all optional: the runtime may lack any of them. */
export interface MacrotaskGlobals {
  /** Node's, Bun's and Deno's. */
  readonly setImmediate?: ((task: () => void) => unknown) | undefined;
  /** The WHATWG constructor (browsers, workers, Node, Deno, Bun). */
  readonly MessageChannel?: (new () => MessageChannelLike) | undefined;
  /** Everyone's. */
  readonly setTimeout?: ((task: () => void, ms: number) => unknown) | undefined;
}

/** What {@link pickMacrotask} uses of a `MessageChannel`. */
export interface MessageChannelLike {
  /** The receiving port. */
  readonly port1: { onmessage: ((event: unknown) => void) | null; unref?: () => void };
  /** The sending port. */
  readonly port2: { postMessage(message: unknown): void };
}

/**
 * The best macrotask scheduler among `globals`. Several tasks scheduled in one turn share one
 * message (a queue drained by one handler), so the `MessageChannel` path posts once per turn, not
 * once per task; tasks scheduled while the queue drains wait for the next message, so a task that
 * schedules itself again still yields to the rest of the event loop.
 */
export function pickMacrotask(globals: MacrotaskGlobals): Macrotask {
  const { setImmediate, MessageChannel, setTimeout } = globals;
  if (typeof setImmediate === "function") return (task) => void setImmediate(task);
  if (typeof MessageChannel === "function") {
    const { port1, port2 } = new MessageChannel();
    let queue: (() => void)[] = [];
    let turns = 0;
    const drain = (): void => {
      const tasks = queue;
      queue = [];
      for (let i = 0; i < tasks.length; i++) {
        try {
          (tasks[i] as () => void)();
        } catch (err) {
          // The tasks after a throwing one still run, on the next turn, and the error is reported
          // as an uncaught one would be.
          const rest = tasks.slice(i + 1);
          if (rest.length > 0) {
            if (queue.length === 0) port2.postMessage(null);
            queue = rest.concat(queue);
          }
          throw err;
        }
      }
    };
    port1.onmessage = drain;
    // Node keeps a process alive while a port listens, even with nothing posted. Only a runtime
    // without setImmediate comes here (a browser or a worker, where this does not arise), or a test
    // that hides it on Node: there the unref'd port must not hold the test process open.
    port1.unref?.();
    return (task) => {
      if (queue.push(task) !== 1) return;
      // A runtime may deliver many messages before it looks at its timers (Node handles up to a
      // thousand in one go), so a message alone does not promise that a due timer runs: every
      // TIMER_TURN-th turn is a setTimeout, which runs after every timer already due.
      turns = (turns + 1) % TIMER_TURN;
      if (turns === 0 && typeof setTimeout === "function") setTimeout(drain, 0);
      else port2.postMessage(null);
    };
  }
  if (typeof setTimeout === "function") return (task) => void setTimeout(task, 0);
  throw new TypeError("grpc-mpsc needs setImmediate, MessageChannel or setTimeout");
}

/** The scheduler of this runtime (the globals are typed for Node here; they are looked at, not trusted). */
export const macrotask: Macrotask = pickMacrotask(globalThis as unknown as MacrotaskGlobals);
