/**
 * Deadlines far in the future. The client validates `deadline` and `timeoutMs` ("a number of
 * milliseconds from 0 up"; a Date; Infinity means none) and hands the rest to grpc-js. docs/grpc.md:
 * invalid options are a RangeError before any call starts; no unhandled rejection, ever; no hang.
 */
import { status } from "@grpc/grpc-js";
import { bidiCall, type ClientCallOptions } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { harnessPerTest } from "../../support/grpc.js";
import { crashesPerTest, echo, orTimeout } from "./helpers.js";

const { start, client } = harnessPerTest();
const captureCrashes = crashesPerTest();

/** Opens an echo call with `options`: a RangeError at once, or one message echoed and status OK. */
async function echoWith(options: ClientCallOptions): Promise<void> {
  let call: ReturnType<typeof bidiCall<Msg, Msg>>;
  try {
    call = bidiCall((md, o) => client().chat(md, o), options);
  } catch (err) {
    expect(err).toBeInstanceOf(RangeError); // acceptable: refused up front
    return;
  }
  await call.tx.send({ n: 7 });
  call.tx.close();
  const first = await orTimeout(outcome(call.rx.recv()), 2000);
  const st = await orTimeout(outcome(call.status), 2000);
  call.cancel();
  expect(first).toEqual({ resolved: { n: 7 } });
  expect(st).toMatchObject({ resolved: { code: status.OK } });
}

describe("deadlines far in the future", () => {
  it("timeoutMs: 1e15 (beyond what grpc-timeout can encode): a RangeError, or a working call; no unhandled rejection and no hung call", async () => {
    await start({ chat: echo });
    const crashes = captureCrashes();
    // What happens: grpc-js throws "Deadline is too far in the future" inside a promise callback
    // (an unhandled rejection: a crash under --unhandled-rejections=strict) and the call never starts.
    await echoWith({ timeoutMs: 1e15 });
    expect(crashes.errors).toEqual([]);
  });

  it("deadline: the largest Date (8.64e15): a RangeError, or a working call; no unhandled rejection", async () => {
    await start({ chat: echo });
    const crashes = captureCrashes();
    await echoWith({ deadline: new Date(8.64e15) });
    expect(crashes.errors).toEqual([]);
  });

  it("timeoutMs of 30 days on a long-lived stream (over 2^31 ms): the call works, it does not fail at once with DEADLINE_EXCEEDED", async () => {
    await start({ chat: echo });
    const crashes = captureCrashes();
    // What happens: the grpc-js server computes the timer as `(value * unit) | 0`, which wraps
    // negative past 2^31 ms: the handler's call ends at once with DEADLINE_EXCEEDED.
    await echoWith({ timeoutMs: 30 * 24 * 3600 * 1000 });
    expect(crashes.errors).toEqual([]);
  });
});
