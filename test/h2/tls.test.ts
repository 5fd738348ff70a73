/**
 * The h2 transport over TLS (ALPN h2), from each side: the h2 client and server with each other and
 * with grpc-js on the other end, mutual TLS, and what a client sees when the server's certificate is
 * not one it trusts, or when it speaks cleartext to a TLS port (an UNAVAILABLE that says why, at
 * once, never a hang). Credentials: test/h2/fixtures/tls (make.sh).
 */
import { readFileSync } from "node:fs";
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import type { Receiver } from "grpc-mpsc";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import {
  Code,
  connect,
  createServer,
  GrpcError,
  type H2Client,
  type H2ClientOptions,
  type H2Server,
  type H2ServerOptions,
} from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { rejection, within } from "../support/async.js";
import { TestService as GrpcTestService, type Msg, TestClientCtor } from "../support/grpc.js";
import { H2TestService as TestService } from "../support/transport.js";

const dir = new URL("./fixtures/tls/", import.meta.url);
const pem = (name: string): Buffer => readFileSync(new URL(name, dir));
const CA = pem("ca.crt");
const OTHER_CA = pem("other-ca.crt");
const SERVER = { key: pem("server.key"), cert: pem("server.crt") };
const CLIENT = { key: pem("client.key"), cert: pem("client.crt") };

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

const echo = {
  chat: async (requests: Receiver<Msg>, responses: { send(m: Msg): Promise<void> }) => {
    for await (const r of requests) await responses.send({ n: r.n * 10 });
  },
  count: async () => {},
  sum: async () => ({ n: 0 }),
};

async function h2Server(options: H2ServerOptions): Promise<number> {
  const server: H2Server = createServer(options).addService(TestService, echo);
  stops.push(() => server.forceShutdown());
  return server.listen(0);
}

function h2Client(target: string, options?: H2ClientOptions): H2Client {
  const client = connect(target, options);
  stops.push(() => client.close());
  return client;
}

/** Sends 1, 2, 3 on a chat call and reads the answers. */
async function chatOver(client: H2Client): Promise<number[]> {
  const call = client.bidiCall(TestService.chat, { timeoutMs: 5000, waitForReady: false });
  for (const n of [1, 2, 3]) await call.tx.send({ n });
  call.tx.close();
  const got: number[] = [];
  for await (const m of call.rx) got.push(m.n);
  await call.status;
  return got;
}

describe("h2 over TLS", () => {
  it("the h2 client and server talk over TLS with a private CA", async () => {
    const port = await h2Server({ tls: SERVER });
    const client = h2Client(`127.0.0.1:${port}`, { tls: { ca: CA } });
    expect(await within(chatOver(client), 5000, "chat over TLS")).toEqual([10, 20, 30]);
  });

  it("an https:// target with tls options connects the same", async () => {
    const port = await h2Server({ tls: SERVER });
    const client = h2Client(`https://localhost:${port}`, { tls: { ca: CA } });
    expect(await within(chatOver(client), 5000, "chat over TLS")).toEqual([10, 20, 30]);
  });

  it("a server certificate the client does not trust fails the call UNAVAILABLE at once, naming the certificate", async () => {
    const port = await h2Server({ tls: SERVER });
    const client = h2Client(`127.0.0.1:${port}`, { tls: { ca: OTHER_CA } });
    const call = client.bidiCall(TestService.chat, { waitForReady: false });
    const error = await within(rejection(call.status), 3000, "status");
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).code).toBe(Code.UNAVAILABLE);
    expect((error as GrpcError).details).toMatch(/certificate/i);
    await expect(call.rx.recv()).rejects.toMatchObject({ code: Code.UNAVAILABLE });
  });

  it("a call that waits for a server certificate the client does not trust ends DEADLINE_EXCEEDED, naming the certificate", async () => {
    const port = await h2Server({ tls: SERVER });
    const client = h2Client(`127.0.0.1:${port}`, {
      tls: { ca: OTHER_CA },
      backoff: { initialMs: 20, maxMs: 50 },
    });
    const call = client.bidiCall(TestService.chat, { timeoutMs: 500 });
    const error = (await within(rejection(call.status), 3000, "status")) as GrpcError;
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(error.details).toMatch(
      new RegExp(
        `^the deadline passed while connecting: could not connect to https://127\\.0\\.0\\.1:${port}: .*certificate`,
        "i",
      ),
    );
  });

  it("a cleartext client on a TLS port fails UNAVAILABLE, it does not hang, and is told the server may want TLS", async () => {
    const port = await h2Server({ tls: SERVER });
    const client = h2Client(`127.0.0.1:${port}`);
    const call = client.bidiCall(TestService.chat, { waitForReady: false });
    const error = await within(rejection(call.status), 3000, "status");
    expect((error as GrpcError).code).toBe(Code.UNAVAILABLE);
    // Node's TLS server closes a connection whose first bytes are no TLS record without a byte back.
    expect((error as GrpcError).details).toBe(
      `could not connect to http://127.0.0.1:${port}: the server closed the connection without a word: ` +
        "if it expects TLS, use an https:// target or the `tls` option",
    );
  });

  it("a cleartext call that waits on a TLS port ends DEADLINE_EXCEEDED with the same hint", async () => {
    const port = await h2Server({ tls: SERVER });
    const client = h2Client(`127.0.0.1:${port}`, { backoff: { initialMs: 20, maxMs: 50 } });
    const call = client.bidiCall(TestService.chat, { timeoutMs: 500 });
    const error = (await within(rejection(call.status), 3000, "status")) as GrpcError;
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(error.details).toMatch(
      /^the deadline passed while connecting: could not connect to http:.*https:\/\/ target/,
    );
  });

  it("a TLS client of a cleartext server fails UNAVAILABLE with OpenSSL's words and a hint at cleartext, not at TLS", async () => {
    const port = await h2Server({});
    const client = h2Client(`127.0.0.1:${port}`, { tls: { ca: CA } });
    const call = client.bidiCall(TestService.chat, { waitForReady: false });
    const error = (await within(rejection(call.status), 3000, "status")) as GrpcError;
    expect(error.code).toBe(Code.UNAVAILABLE);
    expect(error.details).toMatch(
      /^could not connect to https:.*(wrong version number|packet length too long).*: if the server speaks cleartext HTTP\/2, use an http:\/\/ target and no `tls` option$/s,
    );
    expect(error.details).not.toMatch(/expects TLS/);
  });

  it("a TLS server without a certificate is refused at createServer, naming what it has", () => {
    for (const [tls, has] of [
      [{ key: SERVER.key }, "only `key`"],
      [{ cert: SERVER.cert }, "only `cert`"],
      [{ ca: CA }, "none of them"],
    ] as const) {
      expect(() => createServer({ tls })).toThrow(
        new TypeError(
          `Expected \`tls\` to hold \`key\` and \`cert\`, or \`pfx\`: it has ${has}; without a certificate every handshake fails`,
        ),
      );
    }
  });

  it("mutual TLS: a client without a certificate is refused, one with a certificate the CA signed is served", async () => {
    const port = await h2Server({ tls: { ...SERVER, ca: CA, requestCert: true, rejectUnauthorized: true } });
    const anonymous = h2Client(`127.0.0.1:${port}`, { tls: { ca: CA } });
    const refused = anonymous.bidiCall(TestService.chat, { waitForReady: false, timeoutMs: 3000 });
    refused.tx.close();
    const error = await within(rejection(refused.status), 4000, "status without a client certificate");
    expect((error as GrpcError).code).toBe(Code.UNAVAILABLE);
    expect((error as GrpcError).details).toMatch(/certificate/i);
    const known = h2Client(`127.0.0.1:${port}`, { tls: { ca: CA, ...CLIENT } });
    expect(await within(chatOver(known), 5000, "chat with a client certificate")).toEqual([10, 20, 30]);
  });

  it("a grpc-js client with SSL credentials talks to the h2 TLS server", async () => {
    const port = await h2Server({ tls: SERVER });
    const client = TestClientCtor(`localhost:${port}`, credentials.createSsl(CA));
    stops.push(() => client.close());
    const { tx, rx, status } = bidiCall((md, opts) => client.chat(md, opts));
    for (const n of [1, 2, 3]) await tx.send({ n });
    tx.close();
    const got: number[] = [];
    for await (const m of rx) got.push(m.n);
    expect(got).toEqual([10, 20, 30]);
    expect((await status).code).toBe(Code.OK);
  });

  it("the h2 client talks to a grpc-js server with TLS credentials", async () => {
    const server = new Server();
    server.addService(GrpcTestService, {
      chat: serveBidi<Msg, Msg>(async (requests, responses) => {
        for await (const r of requests) await responses.send({ n: r.n * 10 });
      }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        "127.0.0.1:0",
        ServerCredentials.createSsl(null, [{ private_key: SERVER.key, cert_chain: SERVER.cert }]),
        (error, p) => (error ? reject(error) : resolve(p)),
      ),
    );
    stops.push(() => server.forceShutdown());
    const client = h2Client(`127.0.0.1:${port}`, { tls: { ca: CA } });
    expect(await within(chatOver(client), 5000, "chat with grpc-js over TLS")).toEqual([10, 20, 30]);
  });
});

describe("h2 TLS options are checked", () => {
  it("tls with an http:// target is a RangeError that says what to use", () => {
    expect(() => connect("http://127.0.0.1:1", { tls: { ca: CA } })).toThrow(/https:\/\//);
  });

  it("tls that is not an object is a TypeError on either side", () => {
    expect(() => connect("127.0.0.1:1", { tls: 1 as never })).toThrow(TypeError);
    expect(() => createServer({ tls: "key" as never })).toThrow(TypeError);
  });
});
