/**
 * Recognising metadata by its shape, without loading `@grpc/grpc-js`.
 *
 * @internal
 */
import type { MetadataMap } from "../h2/metadata.js";

/**
 * Whether `value` is a grpc-js `Metadata` of any copy (grpc-js recognises its own with `instanceof`,
 * which another copy fails), or the h2 transport's `WireMetadata`, which has the same methods.
 */
export function isMetadata(value: unknown): value is MetadataMap {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Partial<Record<"get" | "getMap" | "clone", unknown>>;
  return typeof m.get === "function" && typeof m.getMap === "function" && typeof m.clone === "function";
}
