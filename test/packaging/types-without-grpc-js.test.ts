/**
 * The declarations of the core and h2 entries compile for a TypeScript user who has no
 * `@grpc/grpc-js` (`grpc-mpsc/h2` is for them), with `skipLibCheck: false`, from ESM and from
 * CommonJS; and the same program, plus one on `grpc-mpsc/grpc`, compiles where grpc-js is installed,
 * its `GrpcError` still typed with grpc-js's `Metadata` and `status`. Offline: the package's
 * declarations are emitted into scratch projects whose node_modules hold only them and `@types/node`
 * (linked from this repository), and a second one that also links grpc-js.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
let scratch = "";
let without = "";
let withGrpcJs = "";

/** Runs the repository's `tsc` with `args`; returns its output and exit status (never throws on errors). */
function runTsc(args: string[], cwd: string): { status: number; output: string } {
  try {
    const output = execFileSync(process.execPath, [tsc, ...args], {
      cwd,
      encoding: "utf8",
      timeout: 120_000,
    });
    return { status: 0, output };
  } catch (error) {
    const failed = error as { status?: number | null; stdout?: string; stderr?: string; message: string };
    if (typeof failed.status !== "number") throw error; // killed by the timeout, or tsc did not start
    return { status: failed.status, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

/** A program that uses the core and h2 entries' types the way an h2 user does. */
const h2Program = `
import { channel, type Receiver, type Sender } from "grpc-mpsc";
import {
  Code,
  connect,
  createServer,
  GrpcError,
  type H2CallStatus,
  type H2ServerContext,
  type MetadataMap,
  WireMetadata,
} from "grpc-mpsc/h2";

const [tx, rx]: [Sender<string>, Receiver<string>] = channel<string>(4);
const trailers = new WireMetadata();
trailers.set("x-job", "42");
const error = new GrpcError(Code.NOT_FOUND, "no job 42", trailers);
const code: number = error.code;
const metadata: MetadataMap = error.metadata;
const mapped: GrpcError = GrpcError.from(new Error("boom"));
const onStatus = (status: H2CallStatus): string => status.details + String(status.metadata.get("x-job"));
const onContext = (ctx: H2ServerContext): AbortSignal => ctx.signal;
export { code, connect, createServer, mapped, metadata, onContext, onStatus, rx, tx };
`;

/** What a grpc-js user of `grpc-mpsc/grpc` relies on: grpc-js's own types on its errors. */
const grpcProgram = `
import { Metadata, status } from "@grpc/grpc-js";
import { GrpcError } from "grpc-mpsc/grpc";
import { GrpcError as H2GrpcError } from "grpc-mpsc/h2";

const error = new GrpcError(status.NOT_FOUND, "no job 42", new Metadata());
const metadata: Metadata = error.metadata;
const code: status = error.code;
const forwarded: Metadata = GrpcError.forward(error).metadata;
const fromH2: unknown = new H2GrpcError(status.UNAVAILABLE, "from h2");
const narrowed: Metadata | undefined = fromH2 instanceof GrpcError ? fromH2.metadata : undefined;
// @ts-expect-error grpc-js's status, not any number
const notACode: status = "NOT_FOUND";
export { code, forwarded, metadata, narrowed, notACode };
`;

/** A scratch project with the package's declarations in node_modules, `@types/node`, and `links`. */
function project(
  name: string,
  packageDir: string,
  links: string[],
  programs: Record<string, string>,
): string {
  const dir = join(scratch, name);
  const modules = join(dir, "node_modules");
  mkdirSync(join(modules, "@types"), { recursive: true });
  mkdirSync(join(modules, "@grpc"), { recursive: true });
  // A copy, not a link: TypeScript resolves a linked package's imports from where it really lies,
  // which for this repository is beside its own node_modules (and grpc-js).
  cpSync(packageDir, join(modules, "grpc-mpsc"), { recursive: true });
  for (const link of ["@types/node", ...links])
    symlinkSync(join(root, "node_modules", link), join(modules, link));
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: `consumer-${name}`, private: true, type: "module" }),
  );
  for (const [file, source] of Object.entries(programs)) writeFileSync(join(dir, file), source);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2023", "ESNext.Disposable"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: false,
        types: ["node"],
        noEmit: true,
      },
      files: Object.keys(programs),
    }),
  );
  return dir;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "grpc-mpsc-types-"));
  // The package as it ships its types: package.json, dist/*.d.ts (ESM), dist/cjs/*.d.ts (CommonJS).
  const pkg = join(scratch, "package");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, "package.json"), readFileSync(join(root, "package.json")));
  const declarations = ["--emitDeclarationOnly", "--declarationMap", "false", "--sourceMap", "false"];
  for (const [config, out] of [
    ["tsconfig.build.json", "dist"],
    ["tsconfig.cjs.json", "dist/cjs"],
  ] as const) {
    const emitted = runTsc(["-p", config, "--outDir", join(pkg, out), ...declarations], root);
    if (emitted.status !== 0) throw new Error(`tsc -p ${config} failed:\n${emitted.output}`);
  }
  writeFileSync(join(pkg, "dist", "cjs", "package.json"), JSON.stringify({ type: "commonjs" }));
  const programs = { "h2.mts": h2Program, "h2.cts": h2Program };
  without = project("without-grpc-js", pkg, [], programs);
  withGrpcJs = project("with-grpc-js", pkg, ["@grpc/grpc-js"], { ...programs, "grpc.mts": grpcProgram });
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the declarations of grpc-mpsc and grpc-mpsc/h2", () => {
  it("type-check with skipLibCheck false where @grpc/grpc-js cannot be resolved, from ESM and CommonJS", () => {
    // The premise: nothing on the way up from the scratch project holds grpc-js.
    expect(() => createRequire(join(without, "package.json")).resolve("@grpc/grpc-js")).toThrow(
      /Cannot find module/,
    );
    const checked = runTsc(["-p", "tsconfig.json"], without);
    expect(checked.output).toBe("");
    expect(checked.status).toBe(0);
  });

  it("type-check where grpc-js is installed, and grpc-mpsc/grpc's GrpcError keeps grpc-js's Metadata and status", () => {
    expect(createRequire(join(withGrpcJs, "package.json")).resolve("@grpc/grpc-js")).toContain("grpc-js");
    const checked = runTsc(["-p", "tsconfig.json"], withGrpcJs);
    expect(checked.output).toBe("");
    expect(checked.status).toBe(0);
  });

  it("and a program that misuses them fails to type-check there (the check is not vacuous)", () => {
    writeFileSync(
      join(without, "wrong.mts"),
      `import { GrpcError } from "grpc-mpsc/h2";\nconst n: string = new GrpcError(5, "x").code;\nexport { n };\n`,
    );
    writeFileSync(
      join(without, "tsconfig.wrong.json"),
      JSON.stringify({ extends: "./tsconfig.json", files: ["wrong.mts"] }),
    );
    const checked = runTsc(["-p", "tsconfig.wrong.json"], without);
    expect(checked.status).not.toBe(0);
    expect(checked.output).toMatch(/wrong\.mts\(2,7\): error TS2322/);
  });
});
