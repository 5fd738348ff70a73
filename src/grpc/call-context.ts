/**
 * The part of a handler's context that both transports' servers share: an AbortSignal made only when
 * the handler asks for it (an idle stream should not pay for one), aborted once with the reason the
 * call ended.
 *
 * @internal
 */
import type { GrpcError } from "./grpc-error.js";

/** A context whose `signal` is made when first read and aborts once with the call's end. */
export abstract class SignalledContext {
  #controller: AbortController | undefined;
  #reason: GrpcError | undefined;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The call ended before the handler finished. */
  abort(reason: GrpcError): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
