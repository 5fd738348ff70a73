/**
 * Command-line flags for the examples: every flag is checked, and a bad one ends the program with a
 * message in one form (`--count: expected an integer from 0 to 1000000, got "abc"`), the usage, and
 * exit code 2. Not an example to run; the example programs import it.
 */
import { parseArgs } from "node:util";

/** A flag whose value is a whole number from `min` to `max`. */
export interface IntegerFlag {
  type: "integer";
  default: number;
  min: number;
  max: number;
}

/** A flag whose value is text; `check` returns what is wrong with a value, or `undefined`. */
export interface StringFlag {
  type: "string";
  /** Without a default the flag is required. */
  default?: string;
  check?: (value: string) => string | undefined;
}

/** The flags a program takes, by name (without the leading `--`). */
export type FlagSpecs = Record<string, IntegerFlag | StringFlag>;

/** The parsed values: numbers for integer flags, strings for string flags. */
export type Flags<S extends FlagSpecs> = { [K in keyof S]: S[K] extends IntegerFlag ? number : string };

/** A wrong command line: the program prints it with its usage and exits with code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Thrown by {@link parseFlags} for `--help`: the program prints its usage and exits 0. */
class HelpRequested extends Error {}

/** `n` and the noun, plural unless `n` is 1: "1 job", "3 jobs", "0 jobs". */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}

/** Checks a `host:port` target (or a grpc-js URI such as `dns:///host:port`, `unix:/path`). */
export function checkTarget(value: string): string | undefined {
  if (/^(?:dns|ipv4|ipv6|unix|unix-abstract):./.test(value)) return undefined;
  const port = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(value)?.[1];
  if (port !== undefined && Number(port) >= 1 && Number(port) <= 65535) return undefined;
  return "expected host:port with a port from 1 to 65535";
}

/** The gRPC transports an example runs on: grpc-js with the adapters (the default), or `grpc-mpsc/h2`. */
export type Transport = "grpc-js" | "h2";

/**
 * The `--transport` flag every gRPC example takes: its spec (`flag`), its usage line (`usage`), and
 * the checked value as a {@link Transport} (`of`).
 */
export const transportOption = {
  flag: {
    type: "string",
    default: "grpc-js",
    check: (value) => (value === "grpc-js" || value === "h2" ? undefined : 'expected "grpc-js" or "h2"'),
  } satisfies StringFlag,
  usage: "  --transport    grpc-js (default) or h2 (grpc-mpsc/h2, on node:http2)",
  of: (value: string): Transport => (value === "h2" ? "h2" : "grpc-js"),
};

/** Checks that a value is not empty. */
export function checkNotEmpty(value: string): string | undefined {
  return value === "" ? "expected a non-empty value" : undefined;
}

/** Parses `argv` against `specs`; throws {@link UsageError} for anything it does not expect. */
export function parseFlags<S extends FlagSpecs>(specs: S, argv: string[]): Flags<S> {
  // node:util reads "--count -1" as a flag missing its value: keep a negative number with its flag,
  // so that it gets the same message as any other out-of-range value.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (/^--[^=]+$/.test(arg) && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.keys(specs).map((name) => [name, { type: "string" as const }]),
    ) as Record<string, { type: "string" | "boolean"; short?: string }>;
    options.help = { type: "boolean", short: "h" };
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (err) {
    // node:util's own messages name the flag ("Unknown option '--foo'", "argument missing").
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) throw new HelpRequested();
  const parsed: Record<string, number | string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = values[name];
    const raw = typeof given === "string" ? given : undefined;
    if (spec.type === "integer") {
      if (raw === undefined) {
        parsed[name] = spec.default;
        continue;
      }
      const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!(n >= spec.min && n <= spec.max)) {
        throw new UsageError(
          `--${name}: expected an integer from ${spec.min} to ${spec.max}, got ${JSON.stringify(raw)}`,
        );
      }
      parsed[name] = n;
    } else {
      const value = raw ?? spec.default;
      if (value === undefined) throw new UsageError(`--${name} is required`);
      const problem = spec.check?.(value);
      if (problem !== undefined) throw new UsageError(`--${name}: ${problem}, got ${JSON.stringify(value)}`);
      parsed[name] = value;
    }
  }
  return parsed as Flags<S>;
}

/**
 * Runs a program's `main`: a number it resolves with is the exit code (the process exits then);
 * `undefined` leaves the process running (a server). A {@link UsageError} prints the message and
 * `usage` and exits 2; `--help` prints `usage` and exits 0; any other error prints `name: message` and
 * exits 1.
 */
export function runCli(name: string, usage: string, main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      if (code !== undefined) process.exit(code);
    },
    (err: unknown) => {
      if (err instanceof HelpRequested) {
        console.log(usage);
        process.exit(0);
      }
      if (err instanceof UsageError) {
        console.error(`${name}: ${err.message}\n${usage}`);
        process.exit(2);
      }
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
