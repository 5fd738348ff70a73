import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { bidiCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageServiceClient } from "../../examples/generated/messages.js";
import { type RunningServer, startServer } from "../../examples/message-service/server.js";
import { within } from "../grpc/fixture.js";

/** Debian's python3 (apt's python3-grpcio lives there, not in a pyenv interpreter on PATH). */
const PYTHON = "/usr/bin/python3";
const here = fileURLToPath(new URL(".", import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];

function python(script: string, args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(PYTHON, [`${here}${script}`, ...args], { cwd: here });
  children.push(child);
  return child;
}

/** Collects a child's stdout lines until it exits; resolves with them and its exit code. */
async function run(
  child: ChildProcessWithoutNullStreams,
): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  let out = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { lines: out.split("\n").filter(Boolean), code, stderr };
}

beforeAll(() => {
  try {
    execFileSync(PYTHON, ["-c", "import grpc"]);
  } catch {
    throw new Error("python3-grpcio is missing: apt-get install -y python3-grpcio (.ci/run installs it)");
  }
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("interoperability with gRPC's C core (Debian python3-grpcio)", () => {
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.shutdown(1000);
  });

  it("a python client of our example server gets its hellos in order and an OK status", async () => {
    server = await startServer({ port: 0, intervalMs: 20, log: () => {} });
    const result = await within(
      run(python("py_client.py", [`127.0.0.1:${server.port}`, "Py", "3"])),
      20_000,
      "python client",
    );
    expect(result.stderr).toBe("");
    expect(result.lines).toEqual([
      "response: Hello, world!",
      "response: Hello, world!",
      "response: Hello, world!",
      "status: OK",
    ]);
    expect(result.code).toBe(0);
  });

  it("our bidiCall client talks to a python echo server: every message echoed, equal and in order", async () => {
    const child = python("py_echo_server.py", []);
    const [first] = (await within(once(child.stdout, "data"), 10_000, "python server start")) as [Buffer];
    const port = Number(/port: (\d+)/.exec(first.toString())?.[1]);
    expect(port).toBeGreaterThan(0);
    const client = new MessageServiceClient(
      `127.0.0.1:${port}`,
      credentials.createInsecure(),
      streamingClientOptions,
    );
    try {
      const { tx, rx, status } = bidiCall((md, o) => client.streamMessages(md, o));
      const names = Array.from({ length: 2000 }, (_, i) => `name-${i} ✓`);
      const sending = (async () => {
        for (const name of names) await tx.send({ name });
        tx.close();
      })();
      const got: string[] = [];
      for await (const res of rx) got.push(res.message);
      await sending;
      expect(got).toEqual(names.map((n) => `echo: ${n}`));
      expect((await status).code).toBe(0);
    } finally {
      client.close();
      child.stdin.end();
      await within(once(child, "exit"), 5000, "python server exit").catch(() => child.kill("SIGKILL"));
    }
  });
});
