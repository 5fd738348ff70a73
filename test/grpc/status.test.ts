import { Metadata, status } from "@grpc/grpc-js";
import { GrpcError } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";

describe("GrpcError.from: one mapping for everything", () => {
  it.each([Number.NaN, 99, -1, 2.5, undefined, status.OK])(
    "a code that is not a gRPC error code (%s) becomes UNKNOWN and keeps the details",
    (code) => {
      const original = { code, details: "the details", metadata: new Metadata() };
      const mapped = GrpcError.from(original);
      expect(mapped.code).toBe(status.UNKNOWN);
      expect(mapped.details).toBe("the details");
      expect(mapped.cause).toBe(original);
    },
  );

  it("a grpc-js ServiceError keeps code, details and trailers, and the original as cause", () => {
    const trailers = new Metadata();
    trailers.set("x-retry-after", "5");
    const serviceError = Object.assign(new Error("14 UNAVAILABLE: gone"), {
      code: status.UNAVAILABLE,
      details: "gone",
      metadata: trailers,
    });
    const mapped = GrpcError.from(serviceError);
    expect(mapped).toBeInstanceOf(GrpcError);
    expect(mapped).toMatchObject({ code: status.UNAVAILABLE, details: "gone" });
    expect(mapped.metadata.get("x-retry-after")).toEqual(["5"]);
    expect(mapped.cause).toBe(serviceError);
  });

  it("details are always a string: a non-string details falls back to the message", () => {
    const mapped = GrpcError.from(Object.assign(new Error("from the message"), { code: 5, details: 42 }));
    expect(mapped.details).toBe("from the message");
    expect(new GrpcError(status.INTERNAL, undefined as unknown as string).details).toBe("undefined");
  });

  it("anything else is UNKNOWN with its message; a GrpcError comes back as it is", () => {
    expect(GrpcError.from(new TypeError("boom"))).toMatchObject({ code: status.UNKNOWN, details: "boom" });
    expect(GrpcError.from("a string")).toMatchObject({ code: status.UNKNOWN, details: "a string" });
    const own = new GrpcError(status.NOT_FOUND, "no such job");
    expect(GrpcError.from(own)).toBe(own);
  });

  it("a value whose getters throw maps without throwing", () => {
    const hostile = {
      get code(): number {
        throw new Error("no");
      },
      get message(): string {
        throw new Error("no");
      },
    };
    expect(GrpcError.from(hostile).code).toBe(status.UNKNOWN);
  });

  it("forward() makes a received status the application's own, keeping code, details, trailers and cause", () => {
    const downstream = Object.assign(new Error("5 NOT_FOUND: no row"), { code: 5, details: "no row" });
    const forwarded = GrpcError.forward(downstream);
    expect(forwarded).toMatchObject({ code: status.NOT_FOUND, details: "no row" });
    expect(forwarded.cause).toBe(downstream);
  });

  it("the constructor refuses codes that are not gRPC error codes, mapping them to UNKNOWN", () => {
    expect(new GrpcError(0 as status, "ok?").code).toBe(status.UNKNOWN);
    expect(new GrpcError(17 as status, "?").message).toBe("2 UNKNOWN: ?");
  });
});
