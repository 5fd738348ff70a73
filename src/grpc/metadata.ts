/**
 * Metadata that works with any copy of `@grpc/grpc-js`. grpc-js recognises metadata with
 * `instanceof Metadata`, so an instance made by another copy (npm link, a monorepo, `npm install
 * <folder>`) is not recognised: a client takes it for its call options, a status loses it. The
 * adapters therefore never hand grpc-js a `Metadata` of their own making where one of the call's
 * own copy can be had, and recognise metadata by its shape.
 *
 * @internal
 */
import { type CallOptions, Metadata } from "@grpc/grpc-js";
import type { MetadataLike } from "../h2/metadata.js";

export { isMetadata } from "./metadata-shape.js";

/** A new, empty `Metadata` of the same copy of grpc-js as `like`. */
export function emptyLike(like: Metadata): Metadata {
  const Ctor = (like as { constructor?: unknown }).constructor;
  return typeof Ctor === "function" ? (new (Ctor as typeof Metadata)() as Metadata) : new Metadata();
}

/** Appends every entry of `from` to `into`, whichever copies of grpc-js (or the h2 transport) made them. */
export function mergeInto(into: Metadata, from: MetadataLike): void {
  if (from.constructor === into.constructor) {
    into.merge(from as Metadata);
    return;
  }
  for (const [key, values] of Object.entries(from.toJSON())) {
    for (const value of values) into.add(key, value);
  }
}

/**
 * The metadata argument for a client call that the caller gave no metadata for. A grpc-js client
 * whose own `Metadata` class this instance is not takes its first argument for the call options and
 * makes empty metadata itself; so the instance also carries the call options as its own properties,
 * and the deadline and the other options reach the call whichever copy of grpc-js the client is.
 */
export function metadataCarrying(callOptions: Partial<CallOptions>): Metadata {
  return Object.assign(new Metadata(), callOptions);
}

/**
 * About how many bytes `metadata` takes in a header block (HTTP/2 counts 32 bytes per field beside
 * its name and value; binary values travel base64-encoded).
 */
export function headerBytes(metadata: Metadata): number {
  let bytes = 0;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) {
      bytes += 32 + key.length + (typeof value === "string" ? value.length : Math.ceil(value.length / 3) * 4);
    }
  }
  return bytes;
}
