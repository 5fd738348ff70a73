/** The pure pieces of the gRPC-over-HTTP/2 protocol: framing, grpc-timeout, metadata, status headers, gzip. */
import { gzipSync } from "node:zlib";
import { Metadata } from "@grpc/grpc-js";
import { Code, type GrpcError, WireMetadata } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { decompress } from "../../src/h2/compression.js";
import { Deframer, frameAll } from "../../src/h2/framing.js";
import {
  BadMetadataError,
  emptyMetadataLike,
  metadataFromHeaders,
  metadataToHeaders,
} from "../../src/h2/metadata.js";
import {
  codeOfHttpStatus,
  decodeMessage,
  encodeMessage,
  isGrpcContentType,
  parseStatus,
} from "../../src/h2/status-headers.js";
import { formatTimeout, parseTimeout } from "../../src/h2/timeout.js";

const bytes = (...values: number[]): Buffer => Buffer.from(values);

/** Every message the deframer hands on for `chunks`, with its flag. */
function deframe(chunks: Buffer[], max = 1024): { messages: [string, boolean][]; error?: GrpcError } {
  const messages: [string, boolean][] = [];
  const d = new Deframer(max, (payload, compressed) => messages.push([payload.toString(), compressed]));
  for (const c of chunks) {
    const error = d.push(c);
    if (error !== undefined) return { messages, error };
  }
  return { messages };
}

describe("length-prefixed framing", () => {
  it("frames a burst of messages into one buffer, each with its flag and big-endian length", () => {
    const out = frameAll([Buffer.from("ab"), Buffer.from(""), Buffer.from("cde")], false);
    expect([...out]).toEqual([0, 0, 0, 0, 2, 97, 98, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 99, 100, 101]);
    expect(frameAll([Buffer.from("x")], true)[0]).toBe(1);
  });

  it("reads several messages packed in one chunk", () => {
    const packed = frameAll([Buffer.from("one"), Buffer.from("two"), Buffer.from("three")], false);
    expect(deframe([packed]).messages).toEqual([
      ["one", false],
      ["two", false],
      ["three", false],
    ]);
  });

  it("reads messages split at every possible byte, the prefix included", () => {
    const whole = frameAll([Buffer.from("hello"), Buffer.from("world!")], false);
    for (let cut = 1; cut < whole.length; cut++) {
      const got = deframe([whole.subarray(0, cut), whole.subarray(cut)]).messages;
      expect(got, `cut at ${cut}`).toEqual([
        ["hello", false],
        ["world!", false],
      ]);
    }
    const oneByOne = [...whole].map((b) => bytes(b));
    expect(deframe(oneByOne).messages.map(([m]) => m)).toEqual(["hello", "world!"]);
  });

  it("refuses a length over the limit with RESOURCE_EXHAUSTED before buffering it", () => {
    const { messages, error } = deframe([bytes(0, 0, 0, 4, 1)], 1024);
    expect(messages).toEqual([]);
    expect(error?.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(error?.details).toContain("1025");
    expect(deframe([bytes(0, 0, 0, 4, 0)], 1024).error).toBeUndefined();
  });

  it("refuses a compressed flag other than 0 or 1 with INTERNAL", () => {
    expect(deframe([bytes(2, 0, 0, 0, 0)]).error?.code).toBe(Code.INTERNAL);
  });

  it("knows when the stream stops in the middle of a message", () => {
    const d = new Deframer(100, () => {});
    d.push(bytes(0, 0, 0));
    expect(d.midMessage).toBe(true);
    d.push(bytes(0, 1, 7));
    expect(d.midMessage).toBe(false);
  });
});

describe("grpc-timeout", () => {
  it("parses every unit", () => {
    expect(parseTimeout("2H")).toBe(7_200_000);
    expect(parseTimeout("3M")).toBe(180_000);
    expect(parseTimeout("4S")).toBe(4000);
    expect(parseTimeout("250m")).toBe(250);
    expect(parseTimeout("1500u")).toBeCloseTo(1.5);
    expect(parseTimeout("2000000n")).toBeCloseTo(2);
    expect(parseTimeout("99999999S")).toBe(99_999_999_000);
  });

  it("refuses what is not 1 to 8 digits and a unit", () => {
    for (const bad of ["", "10", "m", "123456789m", "-1m", "1.5S", "10x", "10 m", " 10m", "1e3m"]) {
      expect(parseTimeout(bad), bad).toBeUndefined();
    }
  });

  it("formats in the finest unit that fits in 8 digits, rounding up", () => {
    expect(formatTimeout(1500)).toBe("1500000u");
    expect(formatTimeout(0.25)).toBe("250000n");
    expect(formatTimeout(86_400_000)).toBe("86400000m");
    expect(formatTimeout(200_000_000)).toBe("200000S");
    expect(formatTimeout(0)).toBe("0n");
    for (const ms of [1, 17.3, 999_999, 5e9]) {
      const back = parseTimeout(formatTimeout(ms)) as number;
      expect(back).toBeGreaterThanOrEqual(ms - 1e-6);
      expect(back - ms).toBeLessThanOrEqual(Math.max(ms * 1e-6, 1e-3));
    }
  });
});

describe("metadata <-> HTTP/2 headers", () => {
  it("writes -bin values as unpadded base64 and repeated values as repeated fields", () => {
    const md = new WireMetadata();
    md.add("x-a", "1");
    md.add("x-a", "2");
    md.set("trace-bin", bytes(1, 2, 3, 4));
    const headers: Record<string, string | string[] | number> = {};
    metadataToHeaders(md, headers);
    expect(headers).toEqual({ "x-a": ["1", "2"], "trace-bin": "AQIDBA" });
  });

  it("refuses reserved keys, naming them", () => {
    for (const key of ["grpc-status", "content-type", "te", "grpc-timeout"]) {
      const m = new Metadata();
      m.set(key, "x");
      expect(() => metadataToHeaders(m, {}), key).toThrow(key);
    }
  });

  it("reads -bin values padded or not, and several joined by commas; skips the transport's own headers", () => {
    const md = metadataFromHeaders(
      {
        ":status": "200",
        "content-type": "application/grpc",
        "grpc-status": "0",
        "x-text": "hi",
        "a-bin": "AQIDBA==",
        "b-bin": "AQIDBA",
        "c-bin": "AQ==,Ag",
      },
      new WireMetadata(),
    );
    expect(md.toJSON()).toEqual({
      "x-text": ["hi"],
      "a-bin": [bytes(1, 2, 3, 4)],
      "b-bin": [bytes(1, 2, 3, 4)],
      "c-bin": [bytes(1), bytes(2)],
    });
  });

  it("refuses a -bin value that is not base64", () => {
    for (const bad of ["***", "A", "AQID=A", "AQ==AQ=="]) {
      expect(() => metadataFromHeaders({ "x-bin": bad }, new WireMetadata()), bad).toThrow(BadMetadataError);
    }
  });

  it("produces grpc-js Metadata where the caller gave one", () => {
    const made = emptyMetadataLike(new Metadata());
    expect(made).toBeInstanceOf(Metadata);
    expect(emptyMetadataLike(undefined)).toBeInstanceOf(WireMetadata);
    metadataFromHeaders({ "x-k": "v" }, made);
    expect(made.get("x-k")).toEqual(["v"]);
  });

  it("WireMetadata checks keys and values as grpc-js does", () => {
    const md = new WireMetadata();
    expect(() => md.set("Bad Key", "x")).toThrow(TypeError);
    expect(() => md.set("x-bin", "text")).toThrow(TypeError);
    expect(() => md.set("x-text", bytes(1) as unknown as string)).toThrow(TypeError);
    md.set("X-Upper", "v");
    expect(md.get("x-upper")).toEqual(["v"]);
    const copy = md.clone();
    md.remove("x-upper");
    expect(copy.getMap()).toEqual({ "x-upper": "v" });
    expect(md.getMap()).toEqual({});
  });
});

describe("status headers", () => {
  it("percent-encodes grpc-message outside printable ASCII and %, and decodes it back", () => {
    expect(encodeMessage("plain text")).toBe("plain text");
    expect(encodeMessage("100% ✓\n")).toBe("100%25 %E2%9C%93%0A");
    for (const s of ["", "a%b", "ünïcödé — ✓", "line\r\nbreak", "😀"]) {
      expect(decodeMessage(encodeMessage(s))).toBe(s);
    }
  });

  it("keeps a % not followed by two hex digits when decoding", () => {
    expect(decodeMessage("50%")).toBe("50%");
    expect(decodeMessage("%zz%4")).toBe("%zz%4");
  });

  it("maps HTTP statuses as gRPC's http-grpc-status-mapping", () => {
    expect(codeOfHttpStatus(400)).toBe(Code.INTERNAL);
    expect(codeOfHttpStatus(401)).toBe(Code.UNAUTHENTICATED);
    expect(codeOfHttpStatus(403)).toBe(Code.PERMISSION_DENIED);
    expect(codeOfHttpStatus(404)).toBe(Code.UNIMPLEMENTED);
    for (const s of [429, 502, 503, 504]) expect(codeOfHttpStatus(s)).toBe(Code.UNAVAILABLE);
    for (const s of [415, 500, 302]) expect(codeOfHttpStatus(s)).toBe(Code.UNKNOWN);
  });

  it("reads grpc-status 0 to 16 only", () => {
    expect(parseStatus("0")).toBe(0);
    expect(parseStatus("16")).toBe(16);
    for (const bad of ["17", "-1", "1.0", "", "abc", undefined]) expect(parseStatus(bad)).toBeUndefined();
  });

  it("recognises gRPC content types", () => {
    for (const ok of [
      "application/grpc",
      "application/grpc+proto",
      "application/grpc+json",
      "application/grpc; charset=x",
    ]) {
      expect(isGrpcContentType(ok), ok).toBe(true);
    }
    for (const bad of ["application/json", "application/grpc-web", "text/plain", undefined]) {
      expect(isGrpcContentType(bad), String(bad)).toBe(false);
    }
  });
});

describe("gzip", () => {
  it("inflates a gzip message, and refuses one that inflates over the limit", () => {
    const big = Buffer.alloc(10_000, 7);
    const packed = gzipSync(big);
    expect(Buffer.compare(decompress(packed, "gzip", 10_000) as Buffer, big)).toBe(0);
    expect((decompress(packed, "gzip", 9_999) as GrpcError).code).toBe(Code.RESOURCE_EXHAUSTED);
  });

  it("refuses a compressed flag on an identity call and bytes that are not gzip with INTERNAL", () => {
    expect((decompress(bytes(1, 2), "identity", 100) as GrpcError).code).toBe(Code.INTERNAL);
    expect((decompress(bytes(1, 2, 3), "gzip", 100) as GrpcError).code).toBe(Code.INTERNAL);
  });
});
