import { readFileSync } from "node:fs";
import { join } from "node:path";
import { credentials, Metadata, Server, ServerCredentials, status } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import { bidiCall, GrpcError, serveBidi, streamingClientOptions } from "grpc-mpsc/grpc";
import { afterEach, describe, expect, it } from "vitest";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";
import { type ClientResult, formatMetadata, runClient } from "../../examples/message-service/client.js";
import { type RunningServer, startServer } from "../../examples/message-service/server.js";
import { sleep, within } from "../support/async.js";
import { spawnExampleClient, spawnExampleServer } from "../support/examples.js";
import { killChildren, ROOT, spawnTsx } from "../support/processes.js";

let server: RunningServer | undefined;
const clients: MessageServiceClient[] = [];
const others: Server[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of others.splice(0)) s.forceShutdown();
  await server?.shutdown(1000);
  server = undefined;
  await killChildren();
});

function connect(port: number): MessageServiceClient {
  const client = new MessageServiceClient(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
    streamingClientOptions,
  );
  clients.push(client);
  return client;
}

/** A MessageService server other than the example's, with `handler`; resolves with its port. */
async function otherServer(
  handler: (requests: Receiver<MessageRequest>, responses: Sender<MessageResponse>) => Promise<void>,
): Promise<number> {
  const other = new Server();
  others.push(other);
  other.addService(MessageServiceService, {
    streamMessages: serveBidi<MessageRequest, MessageResponse>(handler),
  });
  return new Promise<number>((resolve, reject) =>
    other.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
}

/** Runs the example client with --count 3 against `port`, its lines into `lines`, bounded in time. */
function countThree(port: number, lines: string[]): Promise<ClientResult> {
  const log = (l: string): void => void lines.push(l);
  return within(
    runClient({ target: `127.0.0.1:${port}`, name: "Ada", count: 3, intervalMs: 10, log }),
    5000,
    "the client",
  );
}

/** Waits until the server has no hello loop running. */
async function loopsEnded(running: RunningServer, ms = 5000): Promise<void> {
  await within(
    (async () => {
      while (running.activeLoops > 0) await sleep(10);
    })(),
    ms,
    "the server's hello loops",
  );
}

describe("the reference MessageService example", () => {
  it("the client prints --count hellos, then cancels the call; the server logs its names and the cancel, and its hello loop ends", async () => {
    const lines: string[] = [];
    server = await startServer({ port: 0, intervalMs: 20, log: (l) => lines.push(l) });
    const result = await within(
      runClient({
        target: `127.0.0.1:${server.port}`,
        name: "Ada",
        count: 4,
        intervalMs: 10,
        log: (l) => lines.push(l),
      }),
      10_000,
      "the client",
    );
    expect(result.responses).toEqual(Array(4).fill("Hello, world!"));
    expect(result.ended).toBe("count");
    expect(result.sent).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.startsWith("client: response "))).toEqual([
      "client: response 1/4: Hello, world!",
      "client: response 2/4: Hello, world!",
      "client: response 3/4: Hello, world!",
      "client: response 4/4: Hello, world!",
    ]);
    await loopsEnded(server);
    expect(lines.some((l) => /^server: \S+ sent name "Ada"$/.test(l))).toBe(true);
    expect(lines.some((l) => /^server: stream to \S+ ended after \d+ hellos? \(CANCELLED/.test(l))).toBe(
      true,
    );
    // A cancel is not a half-close: the requests loop ends with CANCELLED. (grpc-js emits the stream's
    // 'end' before 'cancelled' for a client's RST_STREAM, a turn or more apart; the adapter waits for
    // a round trip before it calls an 'end' a half-close.)
    expect(lines.some((l) => /^server: \S+'s stream ended with CANCELLED/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes("half-closed"))).toBe(false);
  });

  it("a half-close is not a goodbye: a client that half-closes after one name keeps receiving hellos until it cancels", async () => {
    const lines: string[] = [];
    server = await startServer({ port: 0, intervalMs: 15, log: (l) => lines.push(l) });
    const call = bidiCall((md, o) => connect(server?.port ?? 0).streamMessages(md, o));
    await call.tx.send({ name: "Ada" });
    call.tx.close(); // half-close: nothing more to send
    const got: string[] = [];
    await within(
      (async () => {
        for await (const res of call.rx) {
          got.push(res.message);
          if (got.length === 10) break; // cancels the call
        }
      })(),
      5000,
      "ten hellos after the half-close",
    );
    expect(got).toEqual(Array(10).fill("Hello, world!"));
    await loopsEnded(server);
    const halfClosed = lines.findIndex((l) =>
      l.endsWith("half-closed its stream; the hellos go on until it cancels"),
    );
    const ended = lines.findIndex((l) => /ended after \d+ hellos? \(CANCELLED/.test(l));
    expect(halfClosed).toBeGreaterThan(lines.findIndex((l) => l.endsWith('sent name "Ada"')));
    expect(ended).toBeGreaterThan(halfClosed);
    expect(Number(/after (\d+) hellos/.exec(lines[ended] ?? "")?.[1])).toBeGreaterThanOrEqual(10);
  });

  it("a client that cancels ends the server's hello loop on its next send", async () => {
    const lines: string[] = [];
    server = await startServer({ port: 0, intervalMs: 10, log: (l) => lines.push(l) });
    const call = bidiCall((md, o) => connect(server?.port ?? 0).streamMessages(md, o));
    expect((await within(call.rx.recv(), 5000, "a hello"))?.message).toBe("Hello, world!");
    expect(server.activeLoops).toBe(1);
    call.cancel();
    await loopsEnded(server);
    expect(lines.some((l) => /ended after \d+ hellos?/.test(l))).toBe(true);
  });

  it("--count 0 runs until the signal aborts, then cancels the call", async () => {
    server = await startServer({ port: 0, intervalMs: 10, log: () => {} });
    const interrupt = new AbortController();
    const got: string[] = [];
    const run = runClient({
      target: `127.0.0.1:${server.port}`,
      name: "Ada",
      count: 0,
      intervalMs: 10,
      signal: interrupt.signal,
      log: (l) => got.push(l),
    });
    await within(
      (async () => {
        while (got.length < 20) await sleep(10);
      })(),
      10_000,
      "20 responses",
    );
    interrupt.abort();
    const result = await within(run, 5000, "the client after the interrupt");
    expect(result.ended).toBe("interrupted");
    expect(result.responses.length).toBeGreaterThanOrEqual(20);
    expect(got[0]).toBe("client: response 1: Hello, world!");
    await loopsEnded(server);
  });

  it("a server that ends the call with OK before --count responses: runClient resolves with what it got", async () => {
    const port = await otherServer(async (_requests, responses) => {
      await responses.send({ message: "Hello, world!" });
      await responses.send({ message: "Goodbye" });
    });
    const lines: string[] = [];
    const result = await countThree(port, lines);
    expect(result).toMatchObject({ responses: ["Hello, world!", "Goodbye"], ended: "server-ended" });
    expect(lines.at(-1)).toMatch(
      /^client: 2 responses, sent its name \d+ times?; the server ended the call with OK$/,
    );
  });

  it("a failed call rejects runClient with the status's code, details and trailers", async () => {
    const port = await otherServer(async (_requests, responses) => {
      await responses.send({ message: "Hello, world!" });
      const trailers = new Metadata();
      trailers.set("retry-after-ms", "250");
      trailers.set("reason-bin", Buffer.from([0, 1, 2]));
      throw new GrpcError(status.RESOURCE_EXHAUSTED, "no more hellos", trailers);
    });
    const lines: string[] = [];
    const error = await countThree(port, lines).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: "no more hellos" });
    expect(formatMetadata((error as GrpcError).metadata)).toBe("retry-after-ms=250, reason-bin=AAEC");
    expect(lines).toEqual(["client: response 1/3: Hello, world!"]);
  });
});

describe("the example binaries", () => {
  it("our client binary against our server binary: --count responses, then it cancels and exits 0; the server logs the name and the cancel", async () => {
    const { server: srv, port } = await spawnExampleServer(20);
    const client = spawnExampleClient(port, { name: "Grace", count: 3, intervalMs: 10 });
    expect(await client.exit(20_000)).toEqual({ code: 0, signal: null });
    expect(client.lines.slice(0, 3)).toEqual([
      "client: response 1/3: Hello, world!",
      "client: response 2/3: Hello, world!",
      "client: response 3/3: Hello, world!",
    ]);
    expect(client.lines[3]).toMatch(/^client: 3 responses, sent its name \d+ times?; cancelled the call/);
    await srv.line(/^server: \S+ sent name "Grace"$/, 5000);
    // The client exits only once its cancel is on the wire: the server reads a cancel, not a lost connection.
    await srv.line(
      /^server: stream to \S+ ended after \d+ hellos? \(CANCELLED: cancelled by the client\)$/,
      5000,
    );
    srv.process.kill("SIGTERM");
    expect(await srv.exit(10_000)).toEqual({ code: 0, signal: null });
  }, 40_000);

  it("our client binary with --count 0 runs until Ctrl-C (SIGINT), then cancels the call and exits 0", async () => {
    const { server: srv, port } = await spawnExampleServer(10);
    const client = spawnExampleClient(port, { count: 0, intervalMs: 10 });
    await client.line(/^client: response 10: Hello, world!$/, 15_000);
    client.process.kill("SIGINT");
    expect(await client.exit(10_000)).toEqual({ code: 0, signal: null });
    expect(client.lines).toContain("client: Ctrl-C, cancelling the call");
    await srv.line(/ended after \d+ hellos? \(CANCELLED: cancelled by the client\)$/, 5000);
  }, 40_000);

  it("Ctrl-C on the server ends every open stream at once with UNAVAILABLE, well within the 5 s grace, and exits 0", async () => {
    const { server: srv, port } = await spawnExampleServer(10);
    const clients = [
      spawnExampleClient(port, { count: 0, intervalMs: 10 }),
      spawnExampleClient(port, { count: 0, intervalMs: 10 }),
    ];
    for (const client of clients) await client.line(/^client: response 3: Hello, world!$/, 15_000);
    const t0 = Date.now();
    srv.process.kill("SIGINT");
    expect(await srv.exit(10_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(4000); // not the grace period: the streams were ended, not waited for
    for (const client of clients) {
      expect(await client.exit(10_000)).toEqual({ code: 1, signal: null });
      expect(client.stderr).toMatch(
        /^client: the call failed with code 14 \(UNAVAILABLE\), details "the server is shutting down"/,
      );
    }
  }, 40_000);

  it("--transport h2 on both binaries: --count responses, then the client cancels and exits 0; the h2 server logs the name and the cancel", async () => {
    const { server: srv, port } = await spawnExampleServer(20, "h2");
    const client = spawnExampleClient(port, { name: "Grace", count: 3, intervalMs: 10, transport: "h2" });
    expect(await client.exit(20_000)).toEqual({ code: 0, signal: null });
    expect(client.lines.slice(0, 3)).toEqual([1, 2, 3].map((i) => `client: response ${i}/3: Hello, world!`));
    expect(client.lines[3]).toMatch(/^client: 3 responses, sent its name \d+ times?; cancelled the call/);
    await srv.line(/^server: \S+ sent name "Grace"$/, 5000);
    await srv.line(
      /^server: stream to \S+ ended after \d+ hellos? \(CANCELLED: the client cancelled the call\)$/,
      5000,
    );
    srv.process.kill("SIGTERM");
    expect(await srv.exit(10_000)).toEqual({ code: 0, signal: null });
  }, 40_000);

  it("--transport h2: Ctrl-C on the server ends the open stream at once with UNAVAILABLE, and both binaries exit", async () => {
    const { server: srv, port } = await spawnExampleServer(10, "h2");
    const client = spawnExampleClient(port, { count: 0, intervalMs: 10, transport: "h2" });
    await client.line(/^client: response 3: Hello, world!$/, 15_000);
    const t0 = Date.now();
    srv.process.kill("SIGINT");
    expect(await srv.exit(10_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(await client.exit(10_000)).toEqual({ code: 1, signal: null });
    expect(client.stderr).toMatch(
      /^client: the call failed with code 14 \(UNAVAILABLE\), details "the server is shutting down"/,
    );
  }, 40_000);

  it("our client binary prints the code, details and trailers when the server is unreachable, and exits 1", async () => {
    const probe = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      probe.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    probe.forceShutdown(); // a port nobody listens on now
    const client = spawnTsx("examples/message-service/client.ts", ["--target", `127.0.0.1:${port}`]);
    expect(await client.exit(20_000)).toEqual({ code: 1, signal: null });
    expect(client.stderr).toMatch(
      /^client: the call failed with code 14 \(UNAVAILABLE\), details ".+", trailers: /,
    );
  }, 30_000);
});

/** Output lines with ports as PORT and the count of names sent as N, for comparison across runs. */
function normalized(lines: readonly string[]): string[] {
  return lines.map((l) =>
    l.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT").replace(/name \d+ times/, "name N times"),
  );
}

describe("npm start", () => {
  it("runs the example end to end on loopback and exits 0, printing what docs/examples.md shows", async () => {
    const main = spawnTsx("examples/message-service/main.ts");
    expect(await main.exit(30_000)).toEqual({ code: 0, signal: null });
    // docs/examples.md's copy of the output: the same lines, and but for the names (whose interleaving with
    // the hellos depends on the timers) in the same order.
    const examples = readFileSync(join(ROOT, "docs/examples.md"), "utf8");
    const shown = /```text\n\$ npm start\n([\s\S]*?)```/.exec(examples)?.[1]?.trimEnd().split("\n") ?? [];
    const [ours, theirs] = [normalized(main.lines), normalized(shown)];
    expect(new Set(theirs)).toEqual(new Set(ours));
    const skeleton = (lines: string[]): string[] => lines.filter((l) => !l.endsWith('sent name "Ada"'));
    expect(skeleton(theirs)).toEqual(skeleton(ours));
    expect(main.lines).toContain("client: response 5/5: Hello, world!");
    expect(main.lines.some((l) => /^server: \S+ sent name "Ada"$/.test(l))).toBe(true);
    expect(main.lines.at(-3)).toMatch(/^server: \S+'s stream ended with CANCELLED: /);
    expect(main.lines.at(-2)).toMatch(/^server: stream to \S+ ended after 5 hellos \(CANCELLED: /);
    expect(main.lines.at(-1)).toBe("main: server stopped");
  }, 40_000);
});
