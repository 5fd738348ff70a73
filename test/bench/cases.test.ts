/**
 * The benchmark cases are only worth their figures if they do what they claim: every case runs to
 * the end with small counts and checks order and count (a loss throws), and the worker protocol that
 * `npm run bench` drives works. Speed itself is never asserted here. Every server listens on
 * 127.0.0.1 and is stopped by the case itself; every child process is killed by a timeout.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { channelCases, OrderCheck } from "../../bench/cases/channel.js";
import { concurrent, echo, pingPong } from "../../bench/cases/grpc.js";
import { ChunkCheck, chunkEcho, flood, upload } from "../../bench/cases/grpc-shapes.js";
import { UploadCount } from "../../bench/cases/grpc-types.js";
import { Deframer, frame } from "../../bench/cases/h2-ceiling.js";
import { echoImpls, heapImpls, mixedPairs } from "../../bench/cases/impls.js";
import { measureObserve, observeImpls } from "../../bench/cases/observe.js";
import { runProcess } from "../../bench/process.js";
import type { FromWorker, Load } from "../../bench/protocol.js";

/** A gRPC test's bound: a loaded 2-core machine runs these several times slower than an idle one. */
const GRPC_MS = 60_000;

describe("channel cases", () => {
  for (const [impl, run] of Object.entries(channelCases)) {
    for (const producers of [1, 8]) {
      for (const capacity of [1, 4, 1024]) {
        it(`${impl}, ${producers} producers, capacity ${capacity}: every message once, in order`, async () => {
          await expect(run({ n: 5001, producers, capacity, batch: 64 })).resolves.toBeUndefined();
        });
      }
    }
  }

  it("the order check rejects a lost, repeated or reordered message and a short count", () => {
    const lost = new OrderCheck(2);
    lost.see(0); // producer 0, message 0
    expect(() => lost.see(4)).toThrow(/producer 0: got message 2, expected 1/);
    const repeated = new OrderCheck(1);
    repeated.see(0);
    expect(() => repeated.see(0)).toThrow(/expected 1/);
    const short = new OrderCheck(1);
    short.see(0);
    expect(() => short.done(2)).toThrow(/received 1 of 2/);
  });
});

describe("diagnostics events cost case", () => {
  // "no subscriber" first: "subscribed" subscribes this process for good.
  for (const impl of observeImpls) {
    it(
      `${impl}: the channel case and the echo complete with every message in order`,
      async () => {
        const channel = { n: 5001, producers: 1, capacity: 4, batch: 64, warmup: 1000, warmupCpuMs: 1 };
        expect(await measureObserve(impl, { kind: "channel", channel }, false)).toBeGreaterThan(0);
        expect(await measureObserve(impl, { kind: "echo", n: 300 }, false)).toBeGreaterThan(0);
      },
      GRPC_MS,
    );
  }
  it("refuses an unknown implementation", async () => {
    await expect(measureObserve("nobody", { kind: "echo", n: 1 }, false)).rejects.toThrow(/unknown/);
  });
});

describe("gRPC cases", () => {
  // h2 is grpc-mpsc's own transport (grpc-mpsc/h2), client and server; bare http2 the ceiling.
  for (const impl of echoImpls) {
    it(
      `${impl}: echo, ping-pong and concurrent streams complete with every response in order`,
      async () => {
        expect(await echo(impl, 300)).toBeGreaterThan(0);
        const { p50, p99 } = await pingPong(impl, 40);
        expect(p50).toBeGreaterThan(0);
        expect(p99).toBeGreaterThanOrEqual(p50);
        expect(await concurrent(impl, 8, 20, 3)).toBeGreaterThan(0);
        expect(await concurrent(impl, 120, 2, 50)).toBeGreaterThan(0);
      },
      GRPC_MS,
    );

    it(
      `${impl}: a server-streaming flood and a client-streaming upload arrive whole and in order`,
      async () => {
        expect(await flood(impl, 500, 32)).toBeGreaterThan(0);
        expect(await flood(impl, 3, 0)).toBeGreaterThan(0); // empty payloads: a chunk of seq 0 is 0 bytes
        expect(await upload(impl, 500, 32)).toBeGreaterThan(0);
      },
      GRPC_MS,
    );

    it(
      `${impl}: 64 KiB and 1 MiB messages are echoed whole and in order`,
      async () => {
        expect(await chunkEcho(impl, 20, 64 * 1024)).toBeGreaterThan(0);
        expect(await chunkEcho(impl, 3, 1024 * 1024)).toBeGreaterThan(0);
      },
      GRPC_MS,
    );
  }

  it(
    "the ping-pong's http2 floor times every round trip of one message each way",
    async () => {
      const { p50, p99 } = await pingPong("http2 floor", 40);
      expect(p50).toBeGreaterThan(0);
      expect(p99).toBeGreaterThanOrEqual(p50);
    },
    GRPC_MS,
  );

  it.each(Object.keys(mixedPairs) as (keyof typeof mixedPairs)[])(
    "the mixed pair %s echoes every response in order",
    async (pair) => {
      expect(await echo(pair, 300)).toBeGreaterThan(0);
    },
    GRPC_MS,
  );

  it("the chunk check rejects a reordered or truncated message and a short count", () => {
    const check = new ChunkCheck(4);
    check.see({ seq: 0, payload: Buffer.alloc(4) }, 0);
    expect(() => check.see({ seq: 2, payload: Buffer.alloc(4) }, 1)).toThrow(/message 1 carried seq 2/);
    expect(() => check.see({ seq: 1, payload: Buffer.alloc(3) }, 1)).toThrow(/3 payload bytes, not 4/);
    expect(() => check.done(2)).toThrow(/received 1 of 2/);
  });

  it("an upload's count tells a reordered or repeated chunk from an ordered stream", () => {
    const summary = (seqs: number[]) => {
      const count = new UploadCount();
      for (const seq of seqs) count.add({ seq, payload: Buffer.alloc(2) });
      return count.summary();
    };
    // The client accepts only received === inOrder === sent: chunk k carried seq k, for every k.
    expect(summary([0, 1, 2])).toEqual({ received: 3, inOrder: 3, bytes: 6 });
    expect(summary([0, 2, 1])).toEqual({ received: 3, inOrder: 2, bytes: 6 });
    expect(summary([0, 1, 1, 2])).toEqual({ received: 4, inOrder: 3, bytes: 8 });
  });

  it("the ceiling's deframer splits messages that straddle chunks, and several in one chunk", () => {
    const messages = [Buffer.from("a"), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from("last")];
    const wire = Buffer.concat(messages.map(frame));
    for (const step of [1, 3, 5, 4096, wire.length]) {
      const seen: Buffer[] = [];
      const deframer = new Deframer((m) => seen.push(Buffer.from(m)));
      for (let i = 0; i < wire.length; i += step) deframer.push(wire.subarray(i, i + step));
      expect(seen).toEqual(messages);
    }
  });
});

describe("the cases that run as processes of their own", () => {
  for (const impl of heapImpls) {
    it(
      `heap per idle stream, ${impl}: opens, measures and closes every stream`,
      async () => {
        const out = (await runProcess("bench/cases/heap-process.ts", [impl, "30"], GRPC_MS)) as {
          kib: number;
        };
        expect(out.kib).toBeGreaterThan(0);
      },
      GRPC_MS,
    );
  }

  for (const mode of ["naive", "grpc-mpsc", "h2"]) {
    it(
      `slow reader, ${mode}: the server reads every message`,
      async () => {
        const out = (await runProcess("bench/cases/slow-reader-process.ts", [mode, "500"], GRPC_MS)) as {
          received: number;
        };
        expect(out.received).toBe(500);
      },
      GRPC_MS,
    );
  }
});

describe("the bench worker", () => {
  /** Forks a worker, hands `body` a way to ask it, then tells it to exit and checks that it does. */
  async function withWorker(
    body: (ask: (m: unknown) => Promise<FromWorker>) => Promise<void>,
  ): Promise<void> {
    const child = fork(fileURLToPath(new URL("../../bench/worker.ts", import.meta.url)), [], {
      execArgv: ["--expose-gc", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const timer = setTimeout(() => child.kill(), 30_000);
    try {
      const answers: FromWorker[] = [];
      child.on("message", (m: FromWorker) => answers.push(m));
      const ask = async (message: unknown): Promise<FromWorker> => {
        const seen = answers.length;
        child.send(message as string);
        while (answers.length === seen) await once(child, "message");
        return answers[seen] as FromWorker;
      };
      await body(ask);
      const exited = once(child, "exit");
      child.send("exit");
      expect((await exited)[0]).toBe(0);
    } finally {
      clearTimeout(timer);
      child.kill();
    }
  }

  it("loads a case, answers one result per run and exits when told", async () => {
    await withWorker(async (ask) => {
      const load: Load = {
        name: "channel",
        impl: "grpc-mpsc",
        params: { n: 2000, producers: 2, capacity: 4, warmup: 1000, warmupCpuMs: 5 },
      };
      expect(await ask({ load })).toEqual({ ready: true });
      for (let r = 0; r < 2; r++) {
        const answer = await ask("run");
        expect(answer).toHaveProperty("result");
        expect((answer as { result: number }).result).toBeGreaterThan(0);
      }
    });
  }, 30_000);

  it("runs a gRPC case, whose module it loads on first use", async () => {
    await withWorker(async (ask) => {
      const load: Load = { name: "flood", impl: "raw grpc-js", params: { n: 200 } };
      expect(await ask({ load })).toEqual({ ready: true });
      const answer = await ask("run");
      expect((answer as { result: number }).result).toBeGreaterThan(0);
    });
  }, 30_000);
});
