/**
 * What the wire interop suites share, whichever foreign peer they run against (grpc-go in
 * test/wire/go, python-grpcio in test/wire/py_scenarios_*.py): the peers' JSON lines, running a
 * peer client's scenario against our server, and calling a peer server's script with our client.
 */
import { Metadata } from "@grpc/grpc-js";
import type { Receiver } from "grpc-mpsc";
import { afterEach, expect } from "vitest";
import { within } from "./async.js";
import type { Msg } from "./grpc.js";
import { type Child, killChildren } from "./processes.js";
import { type TcpProxy, tcpProxy } from "./tcp-proxy.js";
import type { ClientSetup, ClientUnderTest, ServerUnderTest, Transport } from "./transport.js";
import { type Scripted, scriptedHandlers } from "./wire-script.js";

/** One JSON line a peer printed. */
export type PeerLine = Record<string, unknown>;

/** The JSON lines `child` printed so far. */
export function jsonLines(child: Child): PeerLine[] {
  return child.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as PeerLine);
}

/** A peer server's `event: "ended"` lines so far. */
export function endedLines(server: Child): PeerLine[] {
  return jsonLines(server).filter((l) => l.event === "ended");
}

/** Request metadata choosing the peer server's behaviour for the call (its `x-mode`). */
export function mode(name: string): Metadata {
  const metadata = new Metadata();
  metadata.set("x-mode", name);
  return metadata;
}

/** `count` messages `{ n, text: text(n) }` for n = 0, 1, ... */
export const numbered = (count: number, text: (i: number) => string): Msg[] =>
  Array.from({ length: count }, (_, n) => ({ n, text: text(n) }));

/** Everything `rx` yields until it ends, and the error it rejected with (if it did); bounded. */
export async function readAll<T>(rx: Receiver<T>, ms = 10_000): Promise<{ values: T[]; error?: unknown }> {
  const values: T[] = [];
  try {
    await within(
      (async () => {
        for await (const v of rx) values.push(v);
      })(),
      ms,
      "reading the responses",
    );
    return { values };
  } catch (error) {
    return { values, error };
  }
}

/**
 * Sends `msgs` on a Chat call of `c` in `modeName`, half-closes, reads every response and the
 * status: what was read, how reading ended, how sending ended ("all" or the error), the final status.
 */
export async function chatAll(c: ClientUnderTest, modeName: string, msgs: Msg[], metadata = mode(modeName)) {
  const call = c.chat({ metadata });
  const sending = (async () => {
    for (const m of msgs) await call.tx.send(m);
    call.tx.close();
  })();
  const read = await readAll(call.rx);
  const sent = await sending.then(
    () => "all",
    (error: unknown) => error,
  );
  const final = await call.status.then(
    (s) => s,
    (error: unknown) => error,
  );
  return { ...read, sent, final };
}

const proxies = new Set<TcpProxy>();

/**
 * A proxy in front of `port` on 127.0.0.1, counting the bytes that cross it (how a test tells that a
 * peer compressed), stopped after the test by the helpers below.
 */
export async function countingProxy(port: number): Promise<TcpProxy> {
  const proxy = await tcpProxy(port);
  proxies.add(proxy);
  return proxy;
}

function stopProxies(): void {
  for (const proxy of proxies) proxy.stop();
  proxies.clear();
}

/** The route to a server: connect to the port `via` gives for the server's (a proxy's), if given. */
export interface Route {
  via?: (port: number) => Promise<number>;
}

/**
 * For a suite of a peer client's scenarios against our `transport` server (call it inside the
 * suite's `describe`): `scenario(name)` serves the script (test/support/wire-script.ts), runs the
 * peer's scenario with `run(target, name)`, and resolves with its result line and our handlers' log;
 * `cancelling(name)` also resolves with when the peer said it cancels. Every server and child is
 * stopped after each test.
 */
export function peerClientScenarios(transport: Transport, run: (target: string, scenario: string) => Child) {
  let server: ServerUnderTest | undefined;
  afterEach(async () => {
    await killChildren();
    stopProxies();
    await server?.close();
    server = undefined;
  });

  /**
   * Serves the script, runs the peer's `scenario` (calling `during` while it runs; connecting to
   * the port `via` gives for ours, if given); resolves with its result line and our handlers' log.
   */
  async function scenario(
    name: string,
    options: Route & { during?: (client: Child) => Promise<void> } = {},
  ): Promise<{ result: PeerLine; script: Scripted }> {
    const script = scriptedHandlers();
    server = await transport.serve(script.handlers);
    const port = options.via === undefined ? server.port : await options.via(server.port);
    const client = run(`127.0.0.1:${port}`, name);
    await options.during?.(client);
    const exit = await client.exit(30_000);
    expect(client.stderr).toBe("");
    expect(exit).toEqual({ code: 0, signal: null });
    const result = jsonLines(client).find((l) => l.scenario === name && l.event === undefined);
    if (result === undefined) throw new Error(`no result for ${name}:\n${client.lines.join("\n")}`);
    return { result, script };
  }

  /** Runs a scenario in which the peer cancels; resolves with when it said so, too. */
  async function cancelling(
    name: string,
  ): Promise<{ result: PeerLine; script: Scripted; cancelledAt: number }> {
    let cancelledAt = 0;
    const run = await scenario(name, {
      during: async (client) => {
        await client.line(/"event":"cancelling"/, 10_000);
        cancelledAt = Date.now();
      },
    });
    return { ...run, cancelledAt };
  }

  return { scenario, cancelling };
}

/**
 * For a suite of our `transport` client against a peer server (call it inside the suite's
 * `describe`): `connect()` starts a peer server with `start` (one per test: its logs are the test's
 * own) and a client of it. Every client, proxy and child is stopped after each test.
 */
export function peerServerClients(
  transport: Transport,
  start: () => Promise<{ child: Child; port: number }>,
) {
  let client: ClientUnderTest | undefined;
  afterEach(async () => {
    client?.close();
    client = undefined;
    stopProxies();
    await killChildren();
  });

  /** Starts a peer server and a client of it (through `route.via`, if given). */
  async function connect(
    setup?: ClientSetup,
    route: Route = {},
  ): Promise<{ server: Child; client: ClientUnderTest }> {
    const { child, port } = await start();
    const target = route.via === undefined ? port : await route.via(port);
    client = transport.connect(`127.0.0.1:${target}`, setup);
    return { server: child, client };
  }

  return { connect };
}
