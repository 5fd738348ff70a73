/**
 * gRPC metadata without grpc-js: {@link WireMetadata}, with the methods of grpc-js's `Metadata` that
 * users call, so code written against either works with both.
 *
 * @module
 */
import { invalid, invalidType } from "../channel/index.js";

/** A metadata value: a string, or bytes for a key that ends in `-bin`. */
export type MetadataValue = string | Buffer;

/**
 * Any metadata the h2 transport takes: its own {@link WireMetadata} or a grpc-js `Metadata` (of any
 * copy): both have `toJSON()`, every key with its values.
 */
export interface MetadataLike {
  /** Every key (lower case) with its values. */
  toJSON(): Record<string, MetadataValue[]>;
}

const KEY = /^[0-9a-z_.-]+$/;
/** A header value gRPC allows for a text key: printable ASCII. */
const TEXT_VALUE = /^[\x20-\x7e]*$/;

/**
 * Request or response metadata (headers and trailers that are not gRPC's own), as grpc-js's
 * `Metadata` has it: keys are lower-cased, a key ending in `-bin` holds bytes, others printable text.
 *
 * @example
 * ```ts
 * const md = new WireMetadata();
 * md.set("x-request-id", "42");
 * md.add("trace-bin", Buffer.from([1, 2, 3]));
 * md.get("x-request-id"); // ["42"]
 * ```
 */
export class WireMetadata implements MetadataLike {
  /** Made by the first value: most calls' metadata stays empty, and each call holds two or more. */
  #map: Map<string, MetadataValue[]> | undefined;

  /**
   * Replaces the values of `key` with `value`.
   *
   * @throws TypeError for a key that is not `[0-9a-z_.-]` (after lower-casing), or a value of the wrong
   *   kind (bytes for `-bin` keys, printable ASCII text for the others).
   */
  set(key: string, value: MetadataValue): void {
    const k = checked(key, value);
    this.#map ??= new Map();
    this.#map.set(k, [value]);
  }

  /** Adds `value` to the values of `key` (checked as in {@link WireMetadata.set}). */
  add(key: string, value: MetadataValue): void {
    const k = checked(key, value);
    this.#map ??= new Map();
    const values = this.#map.get(k);
    if (values === undefined) this.#map.set(k, [value]);
    else values.push(value);
  }

  /** The values of `key` (empty if none). */
  get(key: string): MetadataValue[] {
    const k = key.toLowerCase();
    return [...(this.#map?.get(k) ?? [])];
  }

  /** Removes every value of `key`. */
  remove(key: string): void {
    const k = key.toLowerCase();
    this.#map?.delete(k);
  }

  /** Every key with its first value. */
  getMap(): Record<string, MetadataValue> {
    const out: Record<string, MetadataValue> = {};
    if (this.#map === undefined) return out;
    for (const [k, values] of this.#map) {
      const first = values[0];
      if (first !== undefined) out[k] = first;
    }
    return out;
  }

  /** Every key with all its values. */
  toJSON(): Record<string, MetadataValue[]> {
    const out: Record<string, MetadataValue[]> = {};
    if (this.#map !== undefined) for (const [k, values] of this.#map) out[k] = [...values];
    return out;
  }

  /** A copy (values are shared: Buffers are not copied). */
  clone(): WireMetadata {
    const copy = new WireMetadata();
    copy.merge(this);
    return copy;
  }

  /** Adds every value of `other` (a `WireMetadata` or a grpc-js `Metadata`). */
  merge(other: MetadataLike): void {
    for (const [k, values] of Object.entries(other.toJSON())) {
      for (const v of values) this.add(k, v);
    }
  }
}

/** `key` lower-cased, once it and `value` are fit for gRPC metadata; else a TypeError. */
function checked(key: string, value: MetadataValue): string {
  if (typeof key !== "string") throw invalidType("metadata key", "a string", key);
  const k = key.toLowerCase();
  if (!KEY.test(k)) throw invalidType("metadata key", "made of 0-9, a-z, _, . and - only", key);
  if (k.endsWith("-bin")) {
    if (!Buffer.isBuffer(value)) throw invalidType(`metadata value of ${k}`, "a Buffer (a -bin key)", value);
  } else if (typeof value !== "string" || !TEXT_VALUE.test(value)) {
    throw invalidType(`metadata value of ${k}`, "a string of printable ASCII", value);
  }
  return k;
}

/**
 * Header names an application may not set as metadata: HTTP/2 pseudo-headers, gRPC's own `grpc-*`
 * headers, and the ones the transport writes or HTTP/2 forbids.
 */
const RESERVED = new Set([
  "content-type",
  "te",
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "http2-settings",
  "content-length", // node:http2 holds the DATA to it, and a wrong one ends the whole connection
]);

/**
 * Headers node:http2 takes one value of (its `kSingleValueHeaders`, less the reserved ones): gRPC
 * metadata may repeat any key, but `respond`, `request` and `sendTrailers` throw for these twice.
 */
const SINGLE_VALUE = new Set([
  "access-control-allow-credentials",
  "access-control-max-age",
  "access-control-request-method",
  "age",
  "authorization",
  "content-encoding",
  "content-language",
  "content-location",
  "content-md5",
  "content-range",
  "date",
  "dnt",
  "etag",
  "expires",
  "from",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "range",
  "referer",
  "retry-after",
  "tk",
  "upgrade-insecure-requests",
  "x-content-type-options",
]);

/** Whether header `name` (lower case) is the transport's and not metadata. */
export function isReserved(name: string): boolean {
  return name.startsWith(":") || name.startsWith("grpc-") || RESERVED.has(name);
}

/**
 * Adds `metadata` to outgoing HTTP/2 headers: `-bin` values base64 without padding (the spec's
 * advice), several values of one key as repeated fields.
 *
 * @throws RangeError naming the key when it is reserved ({@link isReserved}), or given twice where
 * node:http2 takes one value (`authorization`, `etag`, ...).
 */
export function metadataToHeaders(
  metadata: MetadataLike,
  into: Record<string, string | string[] | number>,
): void {
  // A plain object (or a class of its own) fits MetadataLike: what node:http2 would refuse, or send
  // unfit for gRPC, is refused here by name instead; keys that differ only in case are one key.
  const headers = new Map<string, string[]>();
  for (const [name, values] of Object.entries(metadata.toJSON())) {
    const key = name.toLowerCase();
    if (isReserved(key)) {
      throw invalid(
        "metadata key",
        "not one of the transport's own headers (grpc-*, :*, content-type, te, ...)",
        key,
      );
    }
    const out = headers.get(key) ?? [];
    headers.set(key, out);
    for (const v of values) {
      checked(name, v);
      out.push(typeof v === "string" ? v : v.toString("base64").replace(/=+$/, ""));
    }
  }
  for (const [key, out] of headers) {
    if (out.length === 0) continue; // a key without values sends nothing
    if (out.length > 1 && SINGLE_VALUE.has(key)) {
      throw invalid("metadata key", "given one value: node:http2 sends one of it", key);
    }
    into[key] = out.length === 1 ? (out[0] as string) : out;
  }
}

/** base64, padded or not (Node's decoder silently skips what is not base64, so it is checked first). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** A received `-bin` value that is not base64. */
export class BadMetadataError extends Error {
  /**
   * @param key the header
   */
  constructor(readonly key: string) {
    super(`the value of metadata key ${key} is not base64`);
    this.name = "BadMetadataError";
  }
}

/** A value that Node gave as one string or as several. */
type HeaderValue = string | string[] | number | undefined;

/**
 * The metadata in received HTTP/2 headers or trailers: every header that is not the transport's own
 * ({@link isReserved}). `-bin` values are base64 (padded or not; several may come joined by commas).
 * `into` chooses the class of the result (a grpc-js `Metadata` the caller gave, for one).
 *
 * @throws BadMetadataError for a `-bin` value that is not base64.
 */
export function metadataFromHeaders<M extends { add(key: string, value: MetadataValue): void }>(
  headers: Record<string, HeaderValue>,
  into: M,
): M {
  for (const key of Object.keys(headers)) {
    if (isReserved(key)) continue;
    const raw = headers[key];
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [String(raw)];
    if (key.endsWith("-bin")) {
      for (const joined of values) {
        for (const part of joined.split(",")) {
          const text = part.trim();
          if (!BASE64.test(text)) throw new BadMetadataError(key);
          into.add(key, Buffer.from(text, "base64"));
        }
      }
    } else {
      for (const v of values) into.add(key, v);
    }
  }
  return into;
}

/**
 * The metadata an h2 call hands back (response headers, trailers, a status's metadata): a
 * {@link WireMetadata}, or, when the caller passed a grpc-js `Metadata` as the call's metadata, one
 * of that same class. Both have these methods.
 */
export interface MetadataMap extends MetadataLike {
  /** The values of `key`. */
  get(key: string): MetadataValue[];
  /** Every key with its first value. */
  getMap(): Record<string, MetadataValue>;
  /** Adds a value. */
  add(key: string, value: MetadataValue): void;
  /** Replaces the values of `key`. */
  set(key: string, value: MetadataValue): void;
  /** Removes every value of `key`. */
  remove(key: string): void;
}

/** A new, empty metadata of the class of `like` (a grpc-js `Metadata` the caller gave), else a {@link WireMetadata}. */
export function emptyMetadataLike(like: unknown): MetadataMap {
  if (like instanceof WireMetadata || typeof like !== "object" || like === null) return new WireMetadata();
  const Ctor = (like as { constructor?: unknown }).constructor;
  if (typeof Ctor !== "function") return new WireMetadata();
  try {
    const made = new (Ctor as new () => unknown)();
    const m = made as Partial<MetadataMap>;
    if (typeof m.add === "function" && typeof m.get === "function" && typeof m.toJSON === "function") {
      return made as MetadataMap;
    }
  } catch {
    // not a class we can make
  }
  return new WireMetadata();
}
