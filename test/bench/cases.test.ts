/**
 * The benchmark cases are only worth their figures if they do what they claim: every case runs to
 * the end with small counts and checks order and count (a loss throws), and the worker protocol that
 * `npm run bench` drives works. Speed itself is never asserted here.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { channelCases, OrderCheck } from "../../bench/cases/channel.js";
import { concurrent, echo, type Impl, pingPong } from "../../bench/cases/grpc.js";
import type { FromWorker, Load } from "../../bench/worker.js";

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

describe("gRPC cases", () => {
  const impls: Impl[] = ["grpc-mpsc", "raw grpc-js", "nice-grpc"];
  for (const impl of impls) {
    it(`${impl}: echo, ping-pong and concurrent streams complete with every response in order`, async () => {
      expect(await echo(impl, 300)).toBeGreaterThan(0);
      const { p50, p99 } = await pingPong(impl, 40);
      expect(p50).toBeGreaterThan(0);
      expect(p99).toBeGreaterThanOrEqual(p50);
      expect(await concurrent(impl, 8, 20, 3)).toBeGreaterThan(0);
    });
  }
});

describe("the bench worker", () => {
  it("loads a case, answers one result per run and exits when told", async () => {
    const child = fork(fileURLToPath(new URL("../../bench/worker.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const timer = setTimeout(() => child.kill(), 15_000);
    try {
      const answers: FromWorker[] = [];
      child.on("message", (m: FromWorker) => answers.push(m));
      const next = async (): Promise<FromWorker> => {
        const seen = answers.length;
        while (answers.length === seen) await once(child, "message");
        return answers[seen] as FromWorker;
      };
      const load: Load = {
        name: "channel",
        impl: "grpc-mpsc",
        params: { n: 2000, producers: 2, capacity: 4, warmup: 1000, warmupCpuMs: 5 },
      };
      child.send({ load });
      expect(await next()).toEqual({ ready: true });
      for (let r = 0; r < 2; r++) {
        child.send("run");
        const answer = await next();
        expect(answer).toHaveProperty("result");
        expect((answer as { result: number }).result).toBeGreaterThan(0);
      }
      const exited = once(child, "exit");
      child.send("exit");
      expect((await exited)[0]).toBe(0);
    } finally {
      clearTimeout(timer);
      child.kill();
    }
  });
});
