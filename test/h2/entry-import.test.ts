/** The h2 entry must not load @grpc/grpc-js at runtime: it is for users who do not have it. */
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("the h2 entry point (grpc-mpsc/h2)", () => {
  it("serves and calls without loading any file of @grpc/grpc-js", () => {
    // A child process, so that no other test's import of grpc-js counts: it runs a call h2 to h2
    // and prints every loaded module path that names grpc-js.
    const script = `
      import { createRequire } from "node:module";
      const h2 = await import(${JSON.stringify(`${root}/src/h2/index.ts`)});
      const codec = { serialize: (s) => Buffer.from(s), deserialize: (b) => b.toString() };
      const method = { path: "/t.T/Echo", requestStream: false, responseStream: false,
        requestSerialize: codec.serialize, requestDeserialize: codec.deserialize,
        responseSerialize: codec.serialize, responseDeserialize: codec.deserialize };
      const server = h2.createServer().addService({ echo: method }, { echo: async (r) => r + "!" });
      const port = await server.listen(0);
      const client = h2.connect("127.0.0.1:" + port);
      const answer = await client.unaryCall(method, "hi").response;
      const err = new h2.GrpcError(h2.Code.NOT_FOUND, "x");
      client.close();
      server.forceShutdown();
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ answer, md: err.metadata.constructor.name, grpcJs: loaded.filter((f) => f.includes("grpc-js")) }));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: root,
      encoding: "utf8",
      timeout: 15_000,
    });
    const result = JSON.parse(out.trim().split("\n").pop() as string) as {
      answer: string;
      md: string;
      grpcJs: string[];
    };
    expect(result.answer).toBe("hi!");
    expect(result.md).toBe("WireMetadata");
    expect(result.grpcJs).toEqual([]);
  });
});
