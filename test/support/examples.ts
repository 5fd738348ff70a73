/** The reference example's programs (examples/message-service) as processes of a test. */
import { type Child, spawnTsx } from "./processes.js";

/** The examples' `--transport` (default grpc-js). */
export type ExampleTransport = "grpc-js" | "h2";

/** Starts the example server on a free port of 127.0.0.1, on `transport`; resolves once it listens. */
export async function spawnExampleServer(
  intervalMs: number,
  transport: ExampleTransport = "grpc-js",
): Promise<{ server: Child; port: number }> {
  const server = spawnTsx("examples/message-service/server.ts", [
    "--port",
    "0",
    "--interval-ms",
    String(intervalMs),
    "--transport",
    transport,
  ]);
  const [, port] = await server.line(/^server: listening on 127\.0\.0\.1:(\d+)$/, 15_000);
  return { server, port: Number(port) };
}

/** Starts the example client against `127.0.0.1:port`. */
export function spawnExampleClient(
  port: number,
  flags: { name?: string; count: number; intervalMs: number; transport?: ExampleTransport },
): Child {
  const name = flags.name === undefined ? [] : ["--name", flags.name];
  return spawnTsx("examples/message-service/client.ts", [
    "--target",
    `127.0.0.1:${port}`,
    ...name,
    "--count",
    String(flags.count),
    "--interval-ms",
    String(flags.intervalMs),
    "--transport",
    flags.transport ?? "grpc-js",
  ]);
}
