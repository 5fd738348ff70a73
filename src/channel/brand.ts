/**
 * `instanceof` that holds across copies of this package (its ESM and CommonJS builds loaded side by
 * side, or two installed versions): a branded class carries a `Symbol.for` key on its prototype, and
 * its `Symbol.hasInstance` looks for that key instead of walking the prototype chain. Subclasses keep
 * the ordinary check. Connect-ES guards `ConnectError` the same way.
 *
 * @internal
 */

/** Brands `cls` with the global key `name`: call it from the class's static block. */
export function brand(cls: abstract new (...args: never[]) => object, name: string): void {
  const mark = Symbol.for(`grpc-mpsc.${name}`);
  Object.defineProperty(cls.prototype, mark, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, value);
      if (typeof value !== "object" || value === null) return false;
      try {
        return (value as Record<symbol, unknown>)[mark] === true;
      } catch {
        return false; // a Proxy whose traps throw, or a revoked one, is nothing of ours
      }
    },
  });
}
