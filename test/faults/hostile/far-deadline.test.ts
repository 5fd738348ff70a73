/**
 * Deadlines far in the future, on every pair of server and client transports. Both clients validate
 * `deadline` and `timeoutMs` ("a number of milliseconds from 0 up"; a Date; Infinity means none).
 * docs/grpc.md: invalid options are a RangeError before any call starts; no unhandled rejection,
 * ever; no hang.
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import {
  type BidiCall,
  type ClientCallOptions,
  type ClientUnderTest,
  PAIRS,
  transportsPerTest,
} from "../../support/transport.js";
import { crashesPerTest, echo, orTimeout } from "./helpers.js";

const captureCrashes = crashesPerTest();

/** Opens an echo call with `options`: a RangeError at once, or one message echoed and status OK. */
async function echoWith(client: ClientUnderTest, options: ClientCallOptions): Promise<void> {
  let call: BidiCall<Msg, Msg>;
  try {
    call = client.chat(options);
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

describe.each(PAIRS)("deadlines far in the future: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("timeoutMs: 1e15 (beyond what grpc-timeout can encode): a RangeError, or a working call; no unhandled rejection and no hung call", async () => {
    const client = await start({ chat: echo });
    const crashes = captureCrashes();
    // What happened once: grpc-js threw "Deadline is too far in the future" inside a promise callback
    // (an unhandled rejection: a crash under --unhandled-rejections=strict) and the call never started.
    await echoWith(client, { timeoutMs: 1e15 });
    expect(crashes.errors).toEqual([]);
  });

  it("deadline: the largest Date (8.64e15): a RangeError, or a working call; no unhandled rejection", async () => {
    const client = await start({ chat: echo });
    const crashes = captureCrashes();
    await echoWith(client, { deadline: new Date(8.64e15) });
    expect(crashes.errors).toEqual([]);
  });

  it("timeoutMs of 30 days on a long-lived stream (over 2^31 ms): a RangeError, or a working call that does not fail at once with DEADLINE_EXCEEDED", async () => {
    const client = await start({ chat: echo });
    const crashes = captureCrashes();
    // What happened once: the grpc-js server computes the timer as `(value * unit) | 0`, which wraps
    // negative past 2^31 ms: the handler's call ended at once with DEADLINE_EXCEEDED.
    await echoWith(client, { timeoutMs: 30 * 24 * 3600 * 1000 });
    expect(crashes.errors).toEqual([]);
  });
});
