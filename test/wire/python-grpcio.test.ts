import { afterEach, expect, it } from "vitest";
import { within } from "../support/async.js";
import { spawnExampleClient, spawnExampleServer } from "../support/examples.js";
import { type Child, killChildren } from "../support/processes.js";
import { describeWithPython, spawnPython } from "../support/python.js";
import { TRANSPORTS } from "../support/transport.js";

afterEach(killChildren);

/** Starts a python server script; resolves with it and the port it printed. */
async function pythonServer(script: string, args: string[]): Promise<{ server: Child; port: number }> {
  const server = spawnPython(script, args);
  const [, port] = await server.line(/^port: (\d+)$/, 15_000);
  return { server, port: Number(port) };
}

for (const transport of TRANSPORTS) {
  describeWithPython(
    `interoperability with gRPC's C core (Debian python3-grpcio) on our ${transport.name} transport`,
    () => {
      it("a python client that behaves like the seed's gets hellos from our example server, cancels after --count, and our server's hello loop ends on the cancel", async () => {
        const { server, port } = await spawnExampleServer(20, transport.name);
        const client = spawnPython("py_seed_client.py", [
          `127.0.0.1:${port}`,
          "--name",
          "Py",
          "--count",
          "3",
        ]);
        expect(await client.exit(20_000)).toEqual({ code: 0, signal: null });
        expect(client.stderr).toBe("");
        expect(client.lines).toEqual([
          "response: Hello, world!",
          "response: Hello, world!",
          "response: Hello, world!",
          "cancelled after 3 responses",
        ]);
        await server.line(/ended after \d+ hellos? \(CANCELLED/, 5000);
        expect(server.lines).toContain(`server: ${peerOf(server)} sent name "Py"`);
      });

      it("a python client that half-closes after one name keeps receiving hellos from our example server until it cancels", async () => {
        const { server, port } = await spawnExampleServer(100, transport.name);
        const client = spawnPython("py_seed_client.py", [
          `127.0.0.1:${port}`,
          "--count",
          "6",
          "--interval-ms",
          "1",
          "--half-close-after",
          "1",
        ]);
        expect(await client.exit(20_000)).toEqual({ code: 0, signal: null });
        expect(client.lines.filter((l) => l === "response: Hello, world!")).toHaveLength(6);
        expect(client.lines.at(-1)).toBe("cancelled after 6 responses");
        // The half-close came about 1 ms in, the first hello 100 ms in: the hellos came after it (all but
        // the first, at least, if the python thread that printed it was slow).
        const halfClosed = client.lines.indexOf("half-closed after 1 name");
        expect(halfClosed).toBeGreaterThanOrEqual(0);
        expect(halfClosed).toBeLessThanOrEqual(1);
        const [, sent] = await server.line(/ended after (\d+) hellos? \(CANCELLED/, 5000);
        expect(Number(sent)).toBeGreaterThanOrEqual(6);
        const logged = (pattern: RegExp): number => server.lines.findIndex((l) => pattern.test(l));
        expect(logged(/half-closed its stream; the hellos go on until it cancels$/)).toBeGreaterThan(
          logged(/ sent name "Py"$/),
        );
        expect(logged(/ended after/)).toBeGreaterThan(logged(/half-closed its stream/));
      });

      it("our example client binary against a python server that behaves like the seed: --count hellos, then it cancels and exits 0, and the python server sees the call end", async () => {
        const { server, port } = await pythonServer("py_seed_server.py", ["--interval-ms", "20"]);
        const client = spawnExampleClient(port, {
          name: "Ada",
          count: 3,
          intervalMs: 10,
          transport: transport.name,
        });
        expect(await client.exit(20_000)).toEqual({ code: 0, signal: null });
        expect(client.lines.filter((l) => l.startsWith("client: response"))).toEqual([
          "client: response 1/3: Hello, world!",
          "client: response 2/3: Hello, world!",
          "client: response 3/3: Hello, world!",
        ]);
        expect(client.lines.at(-1)).toMatch(
          /^client: 3 responses, sent its name \d+ times; cancelled the call/,
        );
        await server.line(/^call ended after \d+ hellos? \(active: False\)$/, 5000);
        expect(server.lines).toContain("name: Ada");
        // This server never ends a call itself, so the call ended by our cancel. (Its request thread may
        // still print "half-closed": grpcio, like grpc-js, can see a cancelled stream's reads end before it
        // learns of the cancel.)
      });

      it("our example client binary prints the code, details and trailers of a python server's error and exits 1", async () => {
        const { port } = await pythonServer("py_seed_server.py", [
          "--interval-ms",
          "10",
          "--fail-after",
          "2",
        ]);
        const client = spawnExampleClient(port, { count: 5, intervalMs: 10, transport: transport.name });
        expect(await client.exit(20_000)).toEqual({ code: 1, signal: null });
        expect(client.lines).toEqual([
          "client: response 1/5: Hello, world!",
          "client: response 2/5: Hello, world!",
        ]);
        expect(client.stderr.trim()).toBe(
          'client: the call failed with code 8 (RESOURCE_EXHAUSTED), details "no more hellos", trailers: retry-after-ms=250, reason-bin=AAEC',
        );
      });

      it("our bidiCall client talks to a python echo server: every message echoed, equal and in order", async () => {
        const { port } = await pythonServer("py_echo_server.py", []);
        const client = transport.connect(`127.0.0.1:${port}`);
        try {
          const { tx, rx, status } = client.streamMessages();
          const names = Array.from({ length: 2000 }, (_, i) => `name-${i} ✓`);
          const sending = (async () => {
            for (const name of names) await tx.send({ name });
            tx.close();
          })();
          const got: string[] = [];
          await within(
            (async () => {
              for await (const res of rx) got.push(res.message);
            })(),
            15_000,
            "the echoes",
          );
          await sending;
          expect(got).toEqual(names.map((n) => `echo: ${n}`));
          expect((await status).code).toBe(0);
        } finally {
          client.close();
        }
      });
    },
  );
}

/** The peer our example server logged for its one client. */
function peerOf(server: Child): string {
  const peer = server.lines.map((l) => /^server: (\S+) connected$/.exec(l)?.[1]).find(Boolean);
  if (peer === undefined) throw new Error(`no client connected:\n${server.lines.join("\n")}`);
  return peer;
}
