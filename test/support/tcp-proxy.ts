/**
 * A TCP proxy on 127.0.0.1 in front of a server, for the faults a network makes: `silence()` stops
 * forwarding without closing anything (a peer behind a dead link: no FIN, no RST), `cut()` destroys
 * every connection at once (a peer whose process or link died), and `bytes` counts what crossed it
 * (to tell a compressed stream from a plain one). Stopped by the `stop` it returns.
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";

/** A running proxy. */
export interface TcpProxy {
  /** The port it listens on. */
  readonly port: number;
  /** From now on, forwards nothing either way; the connections stay open. */
  silence(): void;
  /** Destroys every connection through it (both ends). */
  cut(): void;
  /** The bytes forwarded so far: from the clients to the server, and back. */
  readonly bytes: { readonly toServer: number; readonly toClient: number };
  /** Destroys every connection and stops listening. */
  stop(): void;
}

/** Starts a proxy to `port` on 127.0.0.1. */
export async function tcpProxy(port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let silent = false;
  const bytes = { toServer: 0, toClient: 0 };
  const keep = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const proxy = createServer((inbound) => {
    const outbound = tcpConnect(port, "127.0.0.1");
    keep(inbound);
    keep(outbound);
    inbound.on("data", (chunk: Buffer) => {
      if (silent) return;
      bytes.toServer += chunk.length;
      outbound.write(chunk);
    });
    outbound.on("data", (chunk: Buffer) => {
      if (silent) return;
      bytes.toClient += chunk.length;
      inbound.write(chunk);
    });
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address();
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    silence: () => {
      silent = true;
    },
    cut,
    bytes,
    stop: () => {
      cut();
      proxy.close();
    },
  };
}
