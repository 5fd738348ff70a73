/**
 * The wire interop scenarios that run alike against every foreign peer (grpc-go, python-grpcio):
 * {@link ourServerScenarios} registers the tests of a peer client's scenarios against our server,
 * {@link ourClientScenarios} those of our client against a peer server. Each peer's test file calls
 * them inside its suite and adds the tests where the peer differs (gzip, the 5 MiB response).
 */
import { type Metadata, status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { GrpcError } from "grpc-mpsc/grpc";
import { expect, it } from "vitest";
import { sendUntilRefused, within } from "./async.js";
import type { Msg } from "./grpc.js";
import type { Child } from "./processes.js";
import type { ClientSetup, ClientUnderTest } from "./transport.js";
import { chatAll, endedLines, mode, numbered, type PeerLine, type Route, readAll } from "./wire-peer.js";
import type { Scripted } from "./wire-script.js";

/** The names a peer prints for the gRPC codes (grpc-go: "Canceled"; grpcio: "CANCELLED"). */
export interface PeerCodes {
  OK: string;
  CANCELLED: string;
  DEADLINE_EXCEEDED: string;
  INVALID_ARGUMENT: string;
  RESOURCE_EXHAUSTED: string;
}

/** grpc-go's names (`codes.Code.String()`). */
export const GO_CODES: PeerCodes = {
  OK: "OK",
  CANCELLED: "Canceled",
  DEADLINE_EXCEEDED: "DeadlineExceeded",
  INVALID_ARGUMENT: "InvalidArgument",
  RESOURCE_EXHAUSTED: "ResourceExhausted",
};

/** grpcio's names (`grpc.StatusCode.X.name`). */
export const GRPCIO_CODES: PeerCodes = {
  OK: "OK",
  CANCELLED: "CANCELLED",
  DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  RESOURCE_EXHAUSTED: "RESOURCE_EXHAUSTED",
};

/** A foreign peer, as the shared tests name and expect it. */
export interface Peer {
  /** For the tests' titles: "grpc-go", "grpcio". */
  name: string;
  codes: PeerCodes;
  /** What the peer client's "messages" scenario gets back, in order. */
  messagesEchoed: string[];
  /** How far over a 300 ms timeout the peer's `grpc-timeout` may be (grpcio rounds it up). */
  timeoutOverMs: number;
}

/** grpc-go (Debian's golang-google-grpc-dev), test/wire/go. */
export const GO_PEER: Peer = {
  name: "grpc-go",
  codes: GO_CODES,
  messagesEchoed: ["echo: Go", "echo: Gopher ✓"],
  timeoutOverMs: 0,
};

/** gRPC's C core (Debian's python3-grpcio), test/wire/py_scenarios_*.py. */
export const GRPCIO_PEER: Peer = {
  name: "grpcio",
  codes: GRPCIO_CODES,
  messagesEchoed: ["echo: Py", "echo: Pythonista ✓"],
  // grpcio puts a little more on the wire: "301m" or "302m" for a timeout of 0.3 s (its deadline,
  // taken from the wall clock, moved onto the C core's clock and rounded up).
  timeoutOverMs: 10,
};

/** What `peerClientScenarios` (test/support/wire-peer.ts) gives a suite. */
export interface PeerClientRun {
  scenario(name: string, options?: Route): Promise<{ result: PeerLine; script: Scripted }>;
  cancelling(name: string): Promise<{ result: PeerLine; script: Scripted; cancelledAt: number }>;
}

/** The tests of `peer`'s client scenarios against our server that every peer passes alike. */
export function ourServerScenarios(peer: Peer, { scenario, cancelling }: PeerClientRun): void {
  const codes = peer.codes;
  it("bidi: 100 messages echoed equal and in order, then OK with our trailers (its -bin header echoed in one)", async () => {
    const { result, script } = await scenario("bidi-echo");
    expect(result).toMatchObject({
      code: codes.OK,
      values: 100,
      inOrder: true,
      trailers: { "x-echoed": "100", "x-token-bin": Buffer.from([0xff, 0, 1]).toString("base64") },
    });
    const ended = await script.endedCall();
    expect(ended.read).toHaveLength(100);
    expect(ended.read[99]).toEqual({ n: 99, text: "m99 ✓" });
    expect(ended.requestsEnd).toBe("end");
  });

  it(`server streaming: our Count sends 0..49 and ${peer.name} reads them all, then OK`, async () => {
    const { result } = await scenario("server-stream");
    expect(result).toMatchObject({ code: codes.OK, values: 50, inOrder: true });
  });

  it("client streaming: our Sum reads the 100 numbers and answers 5050", async () => {
    const { result, script } = await scenario("client-stream");
    expect(result).toMatchObject({ code: codes.OK, sum: 5050, text: "count=100" });
    expect((await script.endedCall()).read).toHaveLength(100);
  });

  it(`the reference service: ${peer.name}'s client gets each name echoed in order (protobuf both ways)`, async () => {
    const { result } = await scenario("messages");
    expect(result).toMatchObject({ code: codes.OK, responses: peer.messagesEchoed });
  });

  it(`a ${peer.name} client cancel: our handler's requests reject with CANCELLED and ctx.signal aborts within 1 s`, async () => {
    const { result, script, cancelledAt } = await cancelling("cancel");
    expect(result).toMatchObject({ code: codes.CANCELLED, headers: { "x-held": "yes" } });
    const ended = await script.endedCall();
    expect(ended.mode).toBe("hold");
    expect(ended.abortReason).toBeInstanceOf(GrpcError);
    expect(ended.abortReason).toMatchObject({ code: status.CANCELLED });
    expect(ended.requestsEnd).toBeInstanceOf(GrpcError);
    expect(ended.requestsEnd).toMatchObject({ code: status.CANCELLED });
    expect((ended.abortedAt ?? Number.POSITIVE_INFINITY) - cancelledAt).toBeLessThan(1000);
  });

  it(`a ${peer.name} client cancelling a server stream: our Count handler's signal aborts with CANCELLED within 1 s`, async () => {
    const { result, script, cancelledAt } = await cancelling("server-stream-cancel");
    expect(result).toMatchObject({ code: codes.CANCELLED, values: 2 });
    const ended = await script.endedCall();
    expect(ended).toMatchObject({ method: "Count", mode: "hold", sendEnd: "ok" });
    expect(ended.abortReason).toMatchObject({ code: status.CANCELLED });
    expect((ended.abortedAt ?? Number.POSITIVE_INFINITY) - cancelledAt).toBeLessThan(1000);
  });

  it(`a ${peer.name} deadline of 300 ms: our handler sees it in ctx.deadline, its signal aborts, and ${peer.name} gets DEADLINE_EXCEEDED`, async () => {
    const { result, script } = await scenario("deadline");
    expect(result.code).toBe(codes.DEADLINE_EXCEEDED);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(290);
    expect(result.elapsedMs).toBeLessThan(1300);
    const ended = await script.endedCall();
    expect(ended.deadlineMs).toBeGreaterThan(100);
    expect(ended.deadlineMs).toBeLessThanOrEqual(300 + peer.timeoutOverMs);
    // Both ends keep the deadline: our server's own timer (DEADLINE_EXCEEDED) races the client's
    // RST_STREAM (CANCELLED) sent at the same moment.
    expect([status.DEADLINE_EXCEEDED, status.CANCELLED]).toContain((ended.abortReason as GrpcError).code);
  });

  it(`our GrpcError with trailers reaches ${peer.name}: code, details, text and -bin trailers`, async () => {
    const { result, script } = await scenario("error");
    expect(result).toMatchObject({
      code: codes.INVALID_ARGUMENT,
      message: "rejected n=7",
      values: 0,
      trailers: { "retry-after-ms": "250", "reason-bin": "AAEC" },
    });
    expect((await script.endedCall()).read).toEqual([{ n: 7 }]);
  });

  it(`a ${peer.name} half-close ends only its direction: our handler answers after it, and ${peer.name} reads it`, async () => {
    const { result, script } = await scenario("after-half-close");
    expect(result).toMatchObject({
      code: codes.OK,
      values: ["2 after half-close", "3 after half-close", "4 after half-close"],
    });
    expect((await script.endedCall()).requestsEnd).toBe("end");
  });

  it("a 1 MiB message each way arrives whole", async () => {
    const { result, script } = await scenario("large");
    expect(result).toMatchObject({ code: codes.OK, values: 1, inOrder: true });
    expect((await script.endedCall()).read[0]?.text).toHaveLength(1 << 20);
  });

  it(`a 5 MiB request from ${peer.name}: our server refuses it with RESOURCE_EXHAUSTED, our handler sees the call end`, async () => {
    const { result, script } = await scenario("too-large-send");
    expect(result.code).toBe(codes.RESOURCE_EXHAUSTED);
    expect(result.values).toBe(0);
    const ended = await script.endedCall();
    expect(ended.read).toEqual([]);
    expect(ended.requestsEnd).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it(`200 concurrent ${peer.name} streams on one connection: every one echoed and OK`, async () => {
    const { result, script } = await scenario("concurrent");
    expect(result).toMatchObject({ streams: 200, ok: 200, codes: [codes.OK] });
    expect(script.ended).toHaveLength(200);
    expect(script.ended.every((e) => e.requestsEnd === "end" && e.read.length === 5)).toBe(true);
  });
}

/** The tests of our client against `peer`'s server that every peer passes alike. */
export function ourClientScenarios(
  peer: Peer,
  connect: (setup?: ClientSetup, route?: Route) => Promise<{ server: Child; client: ClientUnderTest }>,
): void {
  const codes = peer.codes;
  it(`bidi: 100 messages echoed equal and in order, then OK with the ${peer.name} server's trailers (our -bin header echoed in one)`, async () => {
    const { client } = await connect();
    const msgs = numbered(100, (i) => `m${i} ✓`);
    const metadata = mode("echo");
    metadata.set("x-token-bin", Buffer.from([0xff, 0, 1]));
    const { values, error, final } = await chatAll(client, "echo", msgs, metadata);
    expect(error).toBeUndefined();
    expect(values).toEqual(msgs);
    expect(final).toMatchObject({ code: status.OK });
    const trailers = (final as { metadata: Metadata }).metadata;
    expect(trailers.get("x-echoed")).toEqual(["100"]);
    expect(trailers.get("x-token-bin")).toEqual([Buffer.from([0xff, 0, 1])]);
  });

  it("server streaming: Count {n: 50} gives 0..49, then OK", async () => {
    const { client } = await connect();
    const call = client.count({ n: 50 });
    const { values, error } = await readAll(call.rx);
    expect(error).toBeUndefined();
    expect(values.map((m) => m.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect((await call.status).code).toBe(status.OK);
  });

  it("client streaming: Sum of 1..100 answers 5050", async () => {
    const { client } = await connect();
    const call = client.sum();
    for (let n = 1; n <= 100; n++) await call.tx.send({ n });
    call.tx.close();
    expect(await within(call.response, 10_000, "the sum")).toEqual({ n: 5050, text: "count=100" });
  });

  it(`the reference service: our generated client gets each name echoed by the ${peer.name} server (protobuf both ways)`, async () => {
    const { client } = await connect();
    const call = client.streamMessages();
    await call.tx.send({ name: "Ada" });
    await call.tx.send({ name: "Grace ✓" });
    call.tx.close();
    const { values, error } = await readAll(call.rx);
    expect(error).toBeUndefined();
    expect(values.map((r) => r.message)).toEqual(["echo: Ada", "echo: Grace ✓"]);
  });

  it(`our cancel reaches the ${peer.name} handler within 1 s, and our rx rejects with CANCELLED`, async () => {
    const { client, server } = await connect();
    const call = client.chat({ metadata: mode("hold") });
    expect((await within(call.headers, 5000, "the headers")).get("x-held")).toEqual(["yes"]);
    const cancelledAt = Date.now();
    call.cancel();
    const { error } = await readAll(call.rx, 5000);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: status.CANCELLED });
    await server.line(/"event":"ended"/, 5000);
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    expect(endedLines(server)).toEqual([
      { event: "ended", method: "Chat", mode: "hold", code: codes.CANCELLED, deadlineMs: -1 },
    ]);
  });

  it(`leaving for await early on a server stream cancels it: the ${peer.name} handler sees the end within 1 s`, async () => {
    const { client, server } = await connect();
    const call = client.count({ n: 3, text: "hold" });
    const got: number[] = [];
    for await (const m of call.rx) {
      got.push(m.n);
      if (got.length === 2) break;
    }
    const leftAt = Date.now();
    expect(got).toEqual([0, 1]);
    await server.line(/"event":"ended"/, 5000);
    expect(Date.now() - leftAt).toBeLessThan(1000);
    expect(endedLines(server)).toEqual([
      { event: "ended", method: "Count", mode: "hold", code: codes.CANCELLED, deadlineMs: -1 },
    ]);
    await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
  });

  it(`our timeoutMs of 300 goes on the wire: the ${peer.name} handler sees it, and our rx rejects with DEADLINE_EXCEEDED`, async () => {
    const { client, server } = await connect();
    const started = Date.now();
    const call = client.chat({ metadata: mode("hold"), timeoutMs: 300 });
    const { error } = await readAll(call.rx, 5000);
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1300);
    await server.line(/"event":"ended"/, 2000);
    const [ended] = endedLines(server);
    expect(ended?.deadlineMs).toBeGreaterThan(100);
    expect(ended?.deadlineMs).toBeLessThanOrEqual(300);
    // The peer server's own timer (DEADLINE_EXCEEDED) races our RST_STREAM (CANCELLED) sent at the deadline.
    expect([codes.DEADLINE_EXCEEDED, codes.CANCELLED]).toContain(ended?.code);
  });

  it(`a ${peer.name} error status with trailers: our rx rejects with its code, details and metadata (text and -bin)`, async () => {
    const { client } = await connect();
    const { error, values, final } = await chatAll(client, "fail", [{ n: 7 }]);
    expect(values).toEqual([]);
    expect(error).toBeInstanceOf(GrpcError);
    const e = error as GrpcError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toBe("rejected n=7");
    expect(e.metadata.get("retry-after-ms")).toEqual(["250"]);
    expect(e.metadata.get("reason-bin")).toEqual([Buffer.from([0, 1, 2])]);
    expect(final).toBe(error);
  });

  it(`a ${peer.name} server that fails the call while our client sends: the parked send gets its value back`, async () => {
    const { client } = await connect();
    const big = (n: number): Msg => ({ n, text: "x".repeat(64 * 1024) });
    const call = client.chat({ metadata: mode("fail"), requestCapacity: 2 });
    const reading = readAll(call.rx);
    const producer = await within(sendUntilRefused(call.tx, big), 10_000, "the producer");
    expect(producer.error).toBeInstanceOf(SendError);
    expect((producer.error as SendError<Msg>).value).toEqual(big(producer.sent));
    expect((producer.error as Error).cause).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((await reading).error).toMatchObject({ code: status.INVALID_ARGUMENT, details: "rejected n=0" });
  });

  it(`our half-close ends only our direction: the ${peer.name} server answers after it and we read it`, async () => {
    const { client } = await connect();
    const { values, error, final } = await chatAll(client, "after-half-close", [{ n: 1 }, { n: 2 }]);
    expect(error).toBeUndefined();
    expect(values).toEqual([2, 3, 4].map((n) => ({ n, text: "after half-close" })));
    expect(final).toMatchObject({ code: status.OK });
  });

  it("a 1 MiB message each way arrives whole", async () => {
    const { client } = await connect();
    const msgs = [{ n: 1, text: "L".repeat(1 << 20) }];
    const { values, error } = await chatAll(client, "echo", msgs);
    expect(error).toBeUndefined();
    expect(values).toEqual(msgs);
  });

  it(`a 5 MiB request: the ${peer.name} server refuses it with RESOURCE_EXHAUSTED, and our rx says so`, async () => {
    const { client } = await connect();
    const { values, error } = await chatAll(client, "echo", [{ n: 1, text: "L".repeat(5 << 20) }]);
    expect(values).toEqual([]);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    expect((error as GrpcError).details).toMatch(/larger than max/i);
  });

  it("a 5 MiB response: our client refuses it with RESOURCE_EXHAUSTED (over the 4 MiB receive limit)", async () => {
    const { client } = await connect();
    const { values, error } = await chatAll(client, "size", [{ n: 5 << 20 }]);
    expect(values).toEqual([]);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it("200 concurrent streams on one client: every one echoed and OK", async () => {
    const { client } = await connect();
    const calls = Array.from({ length: 200 }, (_, s) =>
      chatAll(
        client,
        "echo",
        numbered(5, (i) => `s${s} m${i}`),
      ),
    );
    const results = await within(Promise.all(calls), 15_000, "200 streams");
    results.forEach((r, s) => {
      expect(r.error).toBeUndefined();
      expect(r.values).toEqual(numbered(5, (i) => `s${s} m${i}`));
      expect(r.final).toMatchObject({ code: status.OK });
    });
  });
}
