/** Helpers for the hostile-peer tests: hand-made gRPC frames, a slow link, crash capture, an echo. */
import net from "node:net";
import { afterEach } from "vitest";
import type { Msg } from "../../support/grpc.js";
import type { BidiHandler } from "../../support/transport.js";

/** A bidi handler (for either transport's server) that answers every request with itself. */
export const echo: BidiHandler<Msg, Msg> = async (requests, responses) => {
  for await (const r of requests) await responses.send(r);
};

/** A bidi handler that reads one request and then throws `make()` (a handler mistake). */
export function throwsAfterOne(make: () => unknown): BidiHandler<Msg, Msg> {
  return async (requests) => {
    await requests.recv();
    throw make();
  };
}

/** One gRPC length-prefixed message frame carrying `m` as JSON (the test service's encoding). */
export function frame(m: Msg): Buffer {
  const body = Buffer.from(JSON.stringify(m));
  const f = Buffer.alloc(5 + body.length);
  f.writeUInt32BE(body.length, 1);
  body.copy(f, 5);
  return f;
}

/** A value that throws on every property read (a hostile thrown value or abort reason). */
export function trappedProxy(): object {
  return new Proxy(
    {},
    {
      get() {
        throw new Error("hostile get trap");
      },
    },
  );
}

/** A revoked Proxy: every operation on it throws a TypeError. */
export function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** An object whose `name` getter throws. */
export function throwingName(): object {
  return Object.defineProperty({}, "name", {
    get() {
      throw new Error("hostile name getter");
    },
  });
}

/**
 * Records every uncaught exception and unhandled rejection while it is installed (vitest reports
 * them too; recording them lets a test assert on them). `stop()` removes the listeners.
 */
function captureCrashes(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onException = (err: unknown): void => {
    errors.push(err);
  };
  const onRejection = (reason: unknown): void => {
    errors.push(reason);
  };
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return {
    errors,
    stop() {
      process.removeListener("uncaughtException", onException);
      process.removeListener("unhandledRejection", onRejection);
    },
  };
}

/**
 * {@link captureCrashes} for the tests of a file: the function it returns installs the capture, and
 * it is removed after each test, passed or failed.
 */
export function crashesPerTest(): () => ReturnType<typeof captureCrashes> {
  let current: ReturnType<typeof captureCrashes> | undefined;
  afterEach(() => {
    current?.stop();
    current = undefined;
  });
  return () => {
    current?.stop();
    current = captureCrashes();
    return current;
  };
}

/**
 * A TCP proxy on 127.0.0.1 that forwards what the client writes one chunk (one socket read) at a
 * time, `spacingMs` apart: a slow or lossy link, where two TCP segments the client wrote back to
 * back arrive a few milliseconds apart. The server-to-client direction is forwarded at once.
 */
export async function slowLinkProxy(
  targetPort: number,
  spacingMs: number,
): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    const queue: Buffer[] = [];
    let pumping = false;
    const pump = (): void => {
      const chunk = queue.shift();
      if (chunk === undefined) {
        pumping = false;
        return;
      }
      upstream.write(chunk);
      setTimeout(pump, spacingMs);
    };
    client.on("data", (d: Buffer) => {
      queue.push(d);
      if (!pumping) {
        pumping = true;
        pump();
      }
    });
    upstream.on("data", (d: Buffer) => client.write(d));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Settles with "timeout" if `promise` does not settle within `ms`. */
export function orTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(resolve, ms, "timeout");
    }),
  ]).finally(() => clearTimeout(timer));
}
