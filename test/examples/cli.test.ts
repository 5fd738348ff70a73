import { afterEach, describe, expect, it } from "vitest";
import { checkTarget, type FlagSpecs, parseFlags, plural, UsageError } from "../../examples/cli.js";
import { jobsFlags } from "../../examples/jobs/main.js";
import { workerFlags } from "../../examples/jobs/worker.js";
import { clientFlags } from "../../examples/message-service/client.js";
import { serverFlags } from "../../examples/message-service/server.js";
import { killChildren, spawnTsx } from "../support/processes.js";

afterEach(killChildren);

const specs = {
  count: { type: "integer", default: 5, min: 0, max: 100 },
  target: { type: "string", default: "127.0.0.1:50051", check: checkTarget },
  name: { type: "string" },
} satisfies FlagSpecs;

describe("the examples' flag parser", () => {
  it("gives defaults, numbers for integer flags and strings for the rest", () => {
    expect(parseFlags(specs, ["--name", "Ada"])).toEqual({
      count: 5,
      target: "127.0.0.1:50051",
      name: "Ada",
    });
    expect(parseFlags(specs, ["--name=", "--count", "0", "--target", "[::1]:1"])).toEqual({
      count: 0,
      target: "[::1]:1",
      name: "",
    });
  });

  it.each([
    [["--name", "x", "--count", "abc"], '--count: expected an integer from 0 to 100, got "abc"'],
    [["--name", "x", "--count", "-1"], '--count: expected an integer from 0 to 100, got "-1"'],
    [["--name", "x", "--count", "1.5"], '--count: expected an integer from 0 to 100, got "1.5"'],
    [["--name", "x", "--count", "1e2"], '--count: expected an integer from 0 to 100, got "1e2"'],
    [["--name", "x", "--count", " 7"], '--count: expected an integer from 0 to 100, got " 7"'],
    [["--name", "x", "--count", ""], '--count: expected an integer from 0 to 100, got ""'],
    [["--name", "x", "--count", "101"], '--count: expected an integer from 0 to 100, got "101"'],
    [
      ["--name", "x", "--target", "localhost"],
      '--target: expected host:port with a port from 1 to 65535, got "localhost"',
    ],
    [
      ["--name", "x", "--target", "h:0"],
      '--target: expected host:port with a port from 1 to 65535, got "h:0"',
    ],
    [[], "--name is required"],
    [["--name", "x", "--bogus", "1"], "Unknown option '--bogus'"],
    [["--name", "x", "stray"], "Unexpected argument 'stray'"],
    [["--name"], "Option '--name <value>' argument missing"],
  ])("refuses %j: %s", (argv, message) => {
    expect(() => parseFlags(specs, argv)).toThrow(UsageError);
    expect(() => parseFlags(specs, argv)).toThrow(message);
  });

  it("accepts grpc-js target URIs", () => {
    for (const target of ["dns:///example.com:443", "unix:/tmp/grpc.sock", "ipv4:127.0.0.1:5"])
      expect(checkTarget(target)).toBeUndefined();
  });

  it("says 1 job, 2 jobs, 0 jobs", () => {
    expect([plural(1, "job"), plural(2, "job"), plural(0, "job"), plural(1, "time")]).toEqual([
      "1 job",
      "2 jobs",
      "0 jobs",
      "1 time",
    ]);
  });
});

describe("every flag of every example program is checked", () => {
  const programs = { server: serverFlags, client: clientFlags, jobs: jobsFlags, worker: workerFlags };
  const bad: [keyof typeof programs, string[], string][] = [
    ["server", ["--port", "abc"], '--port: expected an integer from 0 to 65535, got "abc"'],
    ["server", ["--port", "65536"], '--port: expected an integer from 0 to 65535, got "65536"'],
    ["server", ["--interval-ms", "0"], '--interval-ms: expected an integer from 1 to 3600000, got "0"'],
    ["server", ["--transport", "quic"], '--transport: expected "grpc-js" or "h2", got "quic"'],
    ["client", ["--transport", "H2"], '--transport: expected "grpc-js" or "h2", got "H2"'],
    [
      "client",
      ["--target", "nohost"],
      '--target: expected host:port with a port from 1 to 65535, got "nohost"',
    ],
    ["client", ["--name"], "Option '--name <value>' argument missing"],
    ["client", ["--count", "-1"], '--count: expected an integer from 0 to 1000000000, got "-1"'],
    ["client", ["--count", "five"], '--count: expected an integer from 0 to 1000000000, got "five"'],
    ["client", ["--interval-ms", "1.5"], '--interval-ms: expected an integer from 1 to 3600000, got "1.5"'],
    ["jobs", ["--workers", "0"], '--workers: expected an integer from 1 to 64, got "0"'],
    ["jobs", ["--input", ""], '--input: expected a non-empty value, got ""'],
    ["jobs", ["--top", "ten"], '--top: expected an integer from 1 to 1000000, got "ten"'],
    ["jobs", ["--chunk-bytes", "abc"], '--chunk-bytes: expected an integer from 1 to 1048576, got "abc"'],
    ["jobs", ["--delay-ms", "-5"], '--delay-ms: expected an integer from 0 to 600000, got "-5"'],
    ["worker", [], "--target is required"],
    ["worker", ["--target", "h:1", "--id", ""], '--id: expected a non-empty value, got ""'],
    [
      "worker",
      ["--target", "h:1", "--capacity", "0"],
      '--capacity: expected an integer from 1 to 1024, got "0"',
    ],
    [
      "worker",
      ["--target", "h:1", "--delay-ms", "x"],
      '--delay-ms: expected an integer from 0 to 600000, got "x"',
    ],
    [
      "worker",
      ["--target", "h:1", "--fail-first", "2.5"],
      '--fail-first: expected an integer from 0 to 1000000000, got "2.5"',
    ],
  ];

  it.each(bad)("%s %j: %s", (program, argv, message) => {
    expect(() => parseFlags(programs[program], argv)).toThrow(new UsageError(message));
  });

  it("and each program's defaults pass its own checks", () => {
    expect(parseFlags(serverFlags, [])).toEqual({ port: 50051, "interval-ms": 1000, transport: "grpc-js" });
    expect(parseFlags(clientFlags, [])).toMatchObject({
      target: "127.0.0.1:50051",
      count: 5,
      transport: "grpc-js",
    });
    expect(parseFlags(jobsFlags, [])).toMatchObject({ workers: 4, top: 10, "chunk-bytes": 16384 });
    expect(parseFlags(workerFlags, ["--target", "127.0.0.1:1"])).toMatchObject({ capacity: 2 });
  });

  it("each program answers a bad flag with the message, its usage and exit code 2 (run as a process)", async () => {
    const cases: [string, string[], string][] = [
      ["examples/message-service/server.ts", ["--port", "abc"], "server: --port: expected an integer"],
      ["examples/message-service/client.ts", ["--count", "-1"], "client: --count: expected an integer"],
      ["examples/message-service/main.ts", ["--count", "3"], "main: Unknown option '--count'"],
      ["examples/jobs/main.ts", ["--chunk-bytes", "abc"], "jobs: --chunk-bytes: expected an integer"],
      ["examples/jobs/worker.ts", ["--id", "w1"], "worker: --target is required"],
    ];
    const runs = cases.map(([script, argv]) => spawnTsx(script, argv)); // side by side: each starts tsx
    const exits = await Promise.all(runs.map((r) => r.exit(30_000)));
    cases.forEach(([script, argv, message], i) => {
      const run = runs[i];
      expect({ script, argv, exit: exits[i], stdout: run?.lines }).toEqual({
        script,
        argv,
        exit: { code: 2, signal: null },
        stdout: [],
      });
      expect(run?.stderr.startsWith(message)).toBe(true);
      expect(run?.stderr).toMatch(/\nusage: \S+\.ts/);
    });
  }, 60_000);

  it("--help prints the usage and exits 0", async () => {
    const run = spawnTsx("examples/message-service/client.ts", ["--help"]);
    expect(await run.exit(20_000)).toEqual({ code: 0, signal: null });
    expect(run.lines[0]).toMatch(/^usage: client\.ts /);
    expect(run.lines.join("\n")).toContain("--count");
  });
});
