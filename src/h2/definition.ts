/**
 * The service definitions the h2 transport takes: the grpc-js shape that ts-proto
 * (`outputServices=grpc-js`), `@grpc/proto-loader` and grpc-tools already generate, read structurally
 * (no grpc-js needed), and the handler shape each streaming kind gets.
 *
 * @module
 */
import type { Receiver, Sender } from "../channel/index.js";
import { field } from "../grpc/hostile.js";
import type { H2ServerContext } from "./context.js";

/**
 * One method of a service: its path, its streaming kind and its message codecs (grpc-js's
 * `MethodDefinition`).
 */
export interface MethodDefinition<Req, Res> {
  /** The full path, `/package.Service/Method`. */
  readonly path: string;
  /** Whether the client streams. */
  readonly requestStream: boolean;
  /** Whether the server streams. */
  readonly responseStream: boolean;
  /** Encodes a request. */
  requestSerialize(value: Req): Buffer;
  /** Decodes a request. */
  requestDeserialize(bytes: Buffer): Req;
  /** Encodes a response. */
  responseSerialize(value: Res): Buffer;
  /** Decodes a response. */
  responseDeserialize(bytes: Buffer): Res;
}

/** A service: its methods by name (ts-proto's `MessageServiceService`, proto-loader's service object). */
export type ServiceDefinition = { readonly [name: string]: MethodDefinition<unknown, unknown> };

/** A unary handler: the response, or a throw for the status. */
export type UnaryHandler<Req, Res> = (request: Req, ctx: H2ServerContext) => Promise<Res>;
/** A server-streaming handler, as `serveServerStream`'s. */
export type ServerStreamHandler<Req, Res> = (
  request: Req,
  responses: Sender<Res>,
  ctx: H2ServerContext,
) => Promise<void>;
/** A client-streaming handler, as `serveClientStream`'s: its value is the single response. */
export type ClientStreamHandler<Req, Res> = (requests: Receiver<Req>, ctx: H2ServerContext) => Promise<Res>;
/** A bidirectional-streaming handler, as `serveBidi`'s. */
export type BidiHandler<Req, Res> = (
  requests: Receiver<Req>,
  responses: Sender<Res>,
  ctx: H2ServerContext,
) => Promise<void>;

/** The part of a method definition that gives its request type. */
export interface RequestDecoder<Req> {
  /** Decodes a request. */
  requestDeserialize(bytes: Buffer): Req;
}

/** The part of a method definition that gives its response type. */
export interface ResponseDecoder<Res> {
  /** Decodes a response. */
  responseDeserialize(bytes: Buffer): Res;
}

/** The request type of a method definition. */
export type RequestOf<M> = M extends RequestDecoder<infer Req> ? Req : never;
/** The response type of a method definition. */
export type ResponseOf<M> = M extends ResponseDecoder<infer Res> ? Res : never;

/**
 * The handler a method takes, by its streaming kind. A definition whose kinds are plain `boolean`
 * (proto-loader's) takes any of the four; the kind on the wire decides which is called.
 */
export type HandlerFor<M> = M extends { requestStream: true; responseStream: true }
  ? BidiHandler<RequestOf<M>, ResponseOf<M>>
  : M extends { requestStream: true; responseStream: false }
    ? ClientStreamHandler<RequestOf<M>, ResponseOf<M>>
    : M extends { requestStream: false; responseStream: true }
      ? ServerStreamHandler<RequestOf<M>, ResponseOf<M>>
      : M extends { requestStream: false; responseStream: false }
        ? UnaryHandler<RequestOf<M>, ResponseOf<M>>
        :
            | BidiHandler<RequestOf<M>, ResponseOf<M>>
            | ClientStreamHandler<RequestOf<M>, ResponseOf<M>>
            | ServerStreamHandler<RequestOf<M>, ResponseOf<M>>
            | UnaryHandler<RequestOf<M>, ResponseOf<M>>;

/** The handlers of a service: one per method name. */
export type HandlersFor<S> = { readonly [K in keyof S]: HandlerFor<S[K]> };

/**
 * Whether `value` reads as a method definition for the `side` that uses it: a `/package.Service/Method`
 * path, and the codecs that side calls (a server decodes requests, a client encodes them).
 *
 * @internal
 */
export function isMethodDefinition(value: unknown, side: "client" | "server"): boolean {
  const path = field(value, "path");
  if (typeof path !== "string" || !path.startsWith("/")) return false;
  return side === "server"
    ? typeof field(value, "requestDeserialize") === "function"
    : typeof field(value, "requestSerialize") === "function" &&
        typeof field(value, "responseDeserialize") === "function";
}
