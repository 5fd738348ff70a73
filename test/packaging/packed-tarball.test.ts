import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
let project = "";
let files: string[] = [];

/** Runs a script in the temporary project; returns its stdout. */
function run(file: string, source: string): string {
  writeFileSync(join(project, file), source);
  return execFileSync(process.execPath, [file], { cwd: project, encoding: "utf8" }).trim();
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "grpc-mpsc-pack-"));
  execFileSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "ignore" });
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", project], {
    cwd: root,
    encoding: "utf8",
  });
  const [packed] = JSON.parse(out.slice(out.indexOf("["))) as [
    { filename: string; files: { path: string }[] },
  ];
  files = packed.files.map((f) => f.path);
  // Install the tarball as a consumer would get it, and @grpc/grpc-js (its peer) and
  // @grpc/proto-loader (to load the shipped .proto) from this repository.
  const pkgDir = join(project, "node_modules", "grpc-mpsc");
  mkdirSync(pkgDir, { recursive: true });
  execFileSync("tar", ["-xzf", join(project, packed.filename), "-C", pkgDir, "--strip-components=1"]);
  mkdirSync(join(project, "node_modules", "@grpc"), { recursive: true });
  for (const dep of ["grpc-js", "proto-loader"]) {
    symlinkSync(join(root, "node_modules", "@grpc", dep), join(project, "node_modules", "@grpc", dep));
  }
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
}, 120_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/** The probe's body once `core` is loaded (and before `grpc` is): a channel round trip and what is loaded. */
const probe = `
  const [tx, rx] = core.channel(2);
  tx.trySend("hello");
  const first = rx.tryRecv();
  const grpcLoadedByCore = Object.keys(require.cache).some((k) => k.includes("grpc-js"));
`;
/** The probe's end once `grpc` is loaded. */
const report = `
  const [ntx, nrx] = core.channel(1);
  ntx.trySend("streamed");
  ntx.close();
  const nodeStream = node.toReadable(nrx);
  const streamed = [];
  for await (const v of nodeStream) streamed.push(v);
  const grpcLoadedAfter = Object.keys(require.cache).some((k) => k.includes("grpc-js"));
  console.log(JSON.stringify({ first, grpcLoadedByCore, grpcLoadedAfter, err: new grpc.GrpcError(5, "x").code, streamed }));
`;
/** What both module systems must report. */
const expected = {
  first: { ok: true, value: "hello" },
  grpcLoadedByCore: false,
  grpcLoadedAfter: true,
  err: 5,
  streamed: ["streamed"],
};

describe("the packed tarball", () => {
  it("contains dist, src (what the source maps name), proto, the guides in docs/, README and LICENSE only", () => {
    const tops = [...new Set(files.map((f) => f.split("/")[0]))].sort();
    expect(tops).toEqual(["LICENSE", "README.md", "dist", "docs", "package.json", "proto", "src"]);
    expect(files).toContain("docs/guarantees.md");
    expect(files.filter((f) => f.startsWith("docs/") && !/^docs\/[\w-]+\.md$/.test(f))).toEqual([]); // not docs/api/
    expect(files).toContain("dist/index.d.ts");
    expect(files).toContain("dist/cjs/grpc/index.js");
    expect(files).toContain("dist/cjs/redis/index.js");
    expect(files).toContain("dist/redis/index.d.ts");
    expect(files).toContain("src/index.ts");
    expect(files.some((f) => f.endsWith(".js.map"))).toBe(true);
    expect(files.some((f) => f.endsWith(".d.ts.map"))).toBe(true);
  });

  it("every source named by every shipped source map (.js.map and .d.ts.map) is in the tarball", () => {
    const shipped = new Set(files);
    const maps = files.filter((f) => f.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(10);
    const missing = maps.flatMap((map) => {
      const { sources, sourceRoot } = JSON.parse(
        readFileSync(join(project, "node_modules", "grpc-mpsc", map), "utf8"),
      ) as { sources: string[]; sourceRoot?: string };
      return sources
        .map((source) => posix.normalize(posix.join(posix.dirname(map), sourceRoot ?? "", source)))
        .filter((path) => !shipped.has(path))
        .map((path) => `${map} -> ${path}`);
    });
    expect(missing).toEqual([]);
  });

  it("exports the .proto files: grpc-mpsc/proto/messages.proto resolves to the shipped file, both ways, and loads", () => {
    expect(files).toEqual(
      expect.arrayContaining(["proto/messages.proto", "proto/jobs.proto", "proto/ticker.proto"]),
    );
    expect(files).not.toContain("proto/bench.proto"); // the benchmarks' own service is not the package's
    const out = run(
      "proto.mjs",
      `import { createRequire } from "node:module";
       import { fileURLToPath } from "node:url";
       const require = createRequire(import.meta.url);
       const loader = require("@grpc/proto-loader");
       const fromRequire = require.resolve("grpc-mpsc/proto/messages.proto");
       const fromImport = fileURLToPath(import.meta.resolve("grpc-mpsc/proto/jobs.proto"));
       const messages = loader.loadSync(fromRequire)["messages.MessageService"];
       const jobs = loader.loadSync(fromImport)["jobs.JobService"];
       let refused = "";
       try { require.resolve("grpc-mpsc/dist/index.js"); } catch (err) { refused = err.code; }
       console.log(JSON.stringify({
         fromRequire: fromRequire.endsWith("node_modules/grpc-mpsc/proto/messages.proto"),
         fromImport: fromImport.endsWith("node_modules/grpc-mpsc/proto/jobs.proto"),
         streamMessages: messages.StreamMessages.path,
         bidi: messages.StreamMessages.requestStream && messages.StreamMessages.responseStream,
         jobs: Object.keys(jobs),
         refused,
       }));`,
    );
    expect(JSON.parse(out)).toEqual({
      fromRequire: true,
      fromImport: true,
      streamMessages: "/messages.MessageService/StreamMessages",
      bidi: true,
      jobs: ["Connect"],
      refused: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    });
  });

  it("serves the core, node and grpc entries to CommonJS (require), and the core entry loads no gRPC code", () => {
    const out = run(
      "probe.cjs",
      `(async () => {
       const core = require("grpc-mpsc");
       ${probe}
       const grpc = require("grpc-mpsc/grpc");
       const node = require("grpc-mpsc/node");
       ${report}
       })();`,
    );
    expect(JSON.parse(out)).toEqual(expected);
  });

  it("serves the core, node and grpc entries to ESM (import), and the core entry loads no gRPC code", () => {
    const out = run(
      "probe.mjs",
      `import { createRequire } from "node:module";
       const require = createRequire(import.meta.url);
       const core = await import("grpc-mpsc");
       ${probe}
       const grpc = await import("grpc-mpsc/grpc");
       const node = await import("grpc-mpsc/node");
       ${report}`,
    );
    expect(JSON.parse(out)).toEqual(expected);
  });

  it("recognises errors across the ESM and CommonJS builds: instanceof holds both ways", () => {
    const out = run(
      "cross.mjs",
      `import { createRequire } from "node:module";
       import * as esm from "grpc-mpsc";
       import * as esmGrpc from "grpc-mpsc/grpc";
       const cjs = createRequire(import.meta.url)("grpc-mpsc");
       const cjsGrpc = createRequire(import.meta.url)("grpc-mpsc/grpc");
       console.log(JSON.stringify({
         distinct: esm.SendError !== cjs.SendError,
         send: new cjs.SendError(1) instanceof esm.SendError && new esm.SendError(1) instanceof cjs.SendError,
         trySend: new cjs.TrySendError("full", 1) instanceof esm.TrySendError,
         grpc: new cjsGrpc.GrpcError(5, "x") instanceof esmGrpc.GrpcError,
         notOthers: new Error("x") instanceof esm.SendError || new cjs.SendError(1) instanceof esm.TrySendError,
       }));`,
    );
    expect(JSON.parse(out)).toEqual({
      distinct: true,
      send: true,
      trySend: true,
      grpc: true,
      notOthers: false,
    });
  });

  it("ships the .d.ts of the core, grpc and node entries for both module systems, and of the ESM-only concurrent entry", () => {
    const types = files.filter((f) => f.endsWith("index.d.ts")).sort();
    expect(types).toEqual(
      expect.arrayContaining([
        "dist/cjs/grpc/index.d.ts",
        "dist/cjs/index.d.ts",
        "dist/cjs/node/index.d.ts",
        "dist/concurrent/index.d.ts",
        "dist/grpc/index.d.ts",
        "dist/index.d.ts",
        "dist/node/index.d.ts",
      ]),
    );
    expect(readdirSync(join(project, "node_modules", "grpc-mpsc", "dist", "cjs"))).toContain("package.json");
  });
});
