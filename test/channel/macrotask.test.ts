import { afterEach, describe, expect, it, vi } from "vitest";
import { type MacrotaskGlobals, pickMacrotask } from "../../src/channel/macrotask.js";
import { within } from "../support/async.js";

type Core = typeof import("grpc-mpsc");

const realSetTimeout = globalThis.setTimeout;
const RealMessageChannel = globalThis.MessageChannel;

/** Node's MessageChannel as the scheduler sees it (Node's types leave out the ports' `onmessage`). */
const asMessageChannel = (c: typeof MessageChannel): MacrotaskGlobals["MessageChannel"] =>
  c as unknown as MacrotaskGlobals["MessageChannel"];

afterEach(() => {
  vi.unstubAllGlobals();
});

/**
 * A fresh copy of the core entry, loaded while the runtime looks like one without `hide` and with
 * the counting stand-ins of `stub` (the core picks its scheduler when it loads, so the globals are put
 * back right after and the test runner keeps its own).
 */
async function coreLoadedWith(hide: string[], stub: Record<string, unknown>): Promise<Core> {
  vi.resetModules();
  for (const name of hide) vi.stubGlobal(name, undefined);
  for (const [name, value] of Object.entries(stub)) vi.stubGlobal(name, value);
  try {
    return await import("grpc-mpsc");
  } finally {
    vi.unstubAllGlobals();
  }
}

/** The real MessageChannel, with `onPost` called for every message its second port posts. */
function countingPosts(onPost: () => void): typeof MessageChannel {
  return class extends RealMessageChannel {
    constructor() {
      super();
      const post = this.port2.postMessage.bind(this.port2);
      this.port2.postMessage = (message: unknown) => {
        onPost();
        post(message);
      };
    }
  };
}

/** The fallbacks, each with the globals hidden to force it and a counter of the turns it scheduled. */
function fallbacks(): { name: string; hide: string[]; stub: Record<string, unknown>; turns: () => number }[] {
  let immediates = 0;
  let posts = 0;
  let timeouts = 0;
  const realSetImmediate = globalThis.setImmediate;
  return [
    {
      name: "setImmediate (Node, Bun, Deno)",
      hide: [],
      stub: {
        setImmediate: (task: () => void) => {
          immediates++;
          return realSetImmediate(task);
        },
      },
      turns: () => immediates,
    },
    {
      name: "MessageChannel (browsers and workers)",
      hide: ["setImmediate"],
      stub: {
        MessageChannel: countingPosts(() => posts++),
      },
      turns: () => posts,
    },
    {
      name: "setTimeout (anything else)",
      hide: ["setImmediate", "MessageChannel"],
      stub: {
        setTimeout: (task: () => void, ms: number) => {
          timeouts++;
          return realSetTimeout(task, ms);
        },
      },
      turns: () => timeouts,
    },
  ];
}

describe("pickMacrotask: the runtime's way to yield a turn, feature-detected", () => {
  const never = (): never => {
    throw new Error("not this one");
  };

  it("takes setImmediate where present, then MessageChannel, then setTimeout, and refuses nothing at all", () => {
    const immediate = vi.fn();
    pickMacrotask({ setImmediate: immediate, MessageChannel: never as never, setTimeout: never })(() => {});
    expect(immediate).toHaveBeenCalledTimes(1);
    const timeout = vi.fn();
    pickMacrotask({ setTimeout: timeout })(() => {});
    expect(timeout).toHaveBeenCalledWith(expect.any(Function), 0);
    expect(() => pickMacrotask({})).toThrow(TypeError);
  });

  it("MessageChannel: tasks scheduled in one turn share one message and run in order; a task scheduled by a task waits for the next", async () => {
    let posts = 0;
    const schedule = pickMacrotask({
      MessageChannel: asMessageChannel(countingPosts(() => posts++)),
    });
    const order: string[] = [];
    await within(
      new Promise<void>((resolve) => {
        schedule(() => order.push("a"));
        schedule(() => {
          order.push("b");
          schedule(() => {
            order.push("d");
            resolve();
          });
        });
        schedule(() => order.push("c"));
      }),
    );
    expect(order).toEqual(["a", "b", "c", "d"]);
    expect(posts).toBe(2);
  });

  it("MessageChannel: a task that throws does not lose the tasks after it", async () => {
    const errors: unknown[] = [];
    const schedule = pickMacrotask({ MessageChannel: asMessageChannel(RealMessageChannel) });
    const onUncaught = (err: unknown): void => {
      errors.push(err);
    };
    process.on("uncaughtException", onUncaught);
    try {
      const ran = await within(
        new Promise<string>((resolve) => {
          schedule(() => {
            throw new Error("task failed");
          });
          schedule(() => resolve("after"));
        }),
      );
      expect(ran).toBe("after");
      expect(errors).toEqual([expect.objectContaining({ message: "task failed" })]); // reported, not swallowed
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});

describe("the starvation guarantee holds with every fallback", () => {
  for (const fallback of fallbacks()) {
    it(`${fallback.name}: sends, receives and reservations that never wait still let a setTimeout run`, async () => {
      const core = await coreLoadedWith(fallback.hide, fallback.stub);
      const [tx, rx] = core.channel<number>(1024);
      let firedAt = -1;
      let received = 0;
      realSetTimeout(() => {
        firedAt = received;
      }, 0);
      const producer = (async () => {
        for (let i = 0; i < 50_000; i++) await tx.send(i);
        tx.close();
      })();
      for await (const _ of rx) received++;
      await producer;
      expect(received).toBe(50_000);
      expect(firedAt).toBeGreaterThan(0);
      expect(firedAt).toBeLessThan(50_000);
      expect(fallback.turns()).toBeGreaterThan(0);

      // reserve, permit.send and tryRecv: the other paths that complete at once.
      const [tx2, rx2] = core.channel<number>(4);
      let rounds = 0;
      let firedAfter = -1;
      realSetTimeout(() => {
        firedAfter = rounds;
      }, 0);
      for (; rounds < 20_000; rounds++) {
        const permit = await tx2.reserve();
        permit.send(rounds);
        if (rx2.tryRecv().ok !== true) throw new Error("lost a value");
      }
      expect(firedAfter).toBeGreaterThan(0);
      expect(firedAfter).toBeLessThan(20_000);
    });
  }
});
