// Tokio's tests/sync_mpsc.rs `recv_timeout` (a send_timeout test), ported, and the refusals around it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { channel, SendTimeoutError } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { isPending, rejection, within } from "../support/async.js";

describe("sendTimeout", () => {
  it("sends while there is room, times out when full, and reports closed once the receiver closed", async () => {
    const [tx, rx] = channel<number>(5);
    for (const v of [10, 20, 30, 40, 50]) await tx.sendTimeout(v, 1000);
    const timedOut = await within(rejection(tx.sendTimeout(60, 20)));
    expect(timedOut).toBeInstanceOf(SendTimeoutError);
    expect(timedOut).toMatchObject({ kind: "timeout", value: 60 });
    expect(rx.len).toBe(5); // nothing was enqueued
    rx.close();
    expect(await rejection(tx.sendTimeout(70, 1000))).toMatchObject({ kind: "closed", value: 70 });
  });

  it("a waiting sendTimeout completes when room comes before the timeout", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(1);
    const waiting = tx.sendTimeout(2, 2000);
    expect(await isPending(waiting)).toBe(true);
    expect(await rx.recv()).toBe(1);
    await within(waiting);
    expect(await rx.recv()).toBe(2);
  });

  it("a waiting sendTimeout refused by a receiver close gives its value back as closed", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(1);
    const waiting = tx.sendTimeout(2, 2000);
    rx.close();
    expect(await within(rejection(waiting))).toMatchObject({
      name: "SendTimeoutError",
      kind: "closed",
      value: 2,
    });
  });

  it("a timed-out send passes its turn to the next waiting sender", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(1);
    const first = tx.sendTimeout(2, 10);
    const second = tx.send(3);
    await expect(within(first)).rejects.toMatchObject({ kind: "timeout" });
    expect(await rx.recv()).toBe(1);
    await within(second);
    expect(await rx.recv()).toBe(3);
  });

  it("refuses a closed handle, undefined, and a bad timeout", async () => {
    const [tx] = channel<number>(1);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5", 2 ** 31, 2 ** 32]) {
      await expect(tx.sendTimeout(1, bad as number)).rejects.toThrow(
        /^Expected `ms` to be a number of milliseconds from 0 to 2147483647, got /,
      );
    }
    await expect(tx.sendTimeout(undefined as unknown as number, 10)).rejects.toBeInstanceOf(TypeError);
    tx.close();
    expect(await rejection(tx.sendTimeout(4, 10))).toMatchObject({ kind: "closed", value: 4 });
  });

  it("the longest timeout, 2147483647 ms, is taken as it is (not as an overflowed timer that fires at once)", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(0);
    const parked = tx.sendTimeout(1, 2 ** 31 - 1);
    expect(await isPending(parked)).toBe(true);
    rx.close(); // refuses the parked send and clears its timer
    expect(await rejection(parked)).toMatchObject({ kind: "closed", value: 1 });
  });

  // Node only: it starts a Node child with tsx (the Bun and Deno runs of this file have no tsx to give it).
  const onNode = process.versions.bun === undefined && process.versions.deno === undefined;
  it.runIf(onNode)(
    "its timer keeps the process alive: a script whose only wait is a sendTimeout gets the timeout",
    async () => {
      const core = new URL("../../src/index.ts", import.meta.url).href;
      const script = `
      import { channel, SendTimeoutError } from ${JSON.stringify(core)};
      const [tx, rx] = channel(1);
      await tx.send(1);
      try { await tx.sendTimeout(2, 50); } catch (err) {
        console.log(err instanceof SendTimeoutError ? err.kind + " " + err.value : "other " + err);
      }
      rx.close();
    `;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script],
        { timeout: 20_000, env: { ...process.env, NODE_OPTIONS: "" } },
      );
      expect(stdout.trim()).toBe("timeout 2");
    },
    30_000,
  );
});
