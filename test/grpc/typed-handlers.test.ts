/**
 * Type tests: the handlers' message types come from the generated code, and a misspelt field is a
 * compile error. Each fixture is compiled with the project's own compiler options.
 */
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The diagnostics of compiling `fixture` (under test/grpc/types) with the project's tsconfig. */
function compile(fixture: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => {},
    },
  );
  if (config === undefined) throw new Error("tsconfig.json did not parse");
  const file = fileURLToPath(new URL(`./types/${fixture}`, import.meta.url));
  const program = ts.createProgram([file], { ...config.options, noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("typed handlers", () => {
  it("types flow from ts-proto's Server interface and proto-loader's Handlers; every misspelt field is an error", () => {
    expect(compile("typed.ts")).toEqual([]);
  }, 60_000);

  it("inline in grpc-js's untyped addService, a message is unknown, not any: the issue's example does not compile", () => {
    const errors = compile("untyped.ts");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/'req' is of type 'unknown'/);
  }, 60_000);
});
