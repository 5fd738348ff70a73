import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { bidiCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { afterEach, describe, expect, it } from "vitest";
import { MessageServiceClient } from "../../examples/generated/messages.js";
import { runClient } from "../../examples/message-service/client.js";
import { type RunningServer, startServer } from "../../examples/message-service/server.js";
import { sleep, within } from "../grpc/fixture.js";

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown(1000);
  server = undefined;
});

describe("the reference MessageService example", () => {
  it("the client gets --count hellos, the server logs the client's names, and the call ends OK", async () => {
    const lines: string[] = [];
    server = await startServer({ port: 0, intervalMs: 20, log: (l) => lines.push(l) });
    const got = await within(
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
    expect(got).toEqual(Array(4).fill("Hello, world!"));
    expect(lines.filter((l) => l === 'server: received name "Ada"').length).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.includes("status 0 (OK)"))).toBe(true);
    expect(server.activeLoops).toBe(0);
  });

  it("a client that cancels ends the server's timer loop: its next send fails and the loop stops", async () => {
    const lines: string[] = [];
    server = await startServer({ port: 0, intervalMs: 10, log: (l) => lines.push(l) });
    const client = new MessageServiceClient(
      `127.0.0.1:${server.port}`,
      credentials.createInsecure(),
      streamingClientOptions,
    );
    try {
      const call = bidiCall((md, o) => client.streamMessages(md, o));
      expect((await call.rx.recv())?.message).toBe("Hello, world!");
      expect(server.activeLoops).toBe(1);
      call.cancel();
      const running = server;
      await within(
        (async () => {
          while (running.activeLoops > 0) await sleep(10);
        })(),
        1000,
        "the server's timer loop",
      );
      expect(lines.some((l) => /ended after \d+ hellos/.test(l))).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe("npm start", () => {
  it("runs the example end to end on loopback and exits 0", async () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ["--import", "tsx", "examples/message-service/main.ts"],
        { cwd: root, timeout: 30_000 },
        (err, out) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout: out }),
      );
      child.stdin?.end();
    });
    expect(code).toBe(0);
    expect(stdout).toContain("client: response 5/5: Hello, world!");
    expect(stdout).toContain('server: received name "Ada"');
    expect(stdout).toContain("main: server stopped");
  });
});
