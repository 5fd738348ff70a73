/**
 * What every call writer tells its call's owner, whichever transport it writes to: the grpc-js
 * adapters' `CallWriter` and the h2 transport's `BurstWriter` both extend {@link OwnedSink}.
 *
 * @internal
 */
import type { Sink } from "../channel/index.js";

/** What a call writer tells the owner of its call. */
export interface WriteOwner {
  /** Every sender handle closed and every value was handed to the call. */
  writesEnded(): void;
  /** A sender aborted (`Sender.abort(reason)`), or the call refused a message. */
  writesAborted(reason: unknown): void;
  /** The last sender handle was garbage-collected without being closed. */
  writesAbandoned(): void;
  /** A send was refused (the call had ended) and nobody awaited or handled its promise. */
  unobserved(reason: unknown): void;
}

/** A {@link Sink} that passes the channel's end, failure and refusals on to a {@link WriteOwner}. */
export abstract class OwnedSink<T, O extends WriteOwner = WriteOwner> implements Sink<T> {
  protected readonly owner: O;

  constructor(owner: O) {
    this.owner = owner;
  }

  abstract get room(): number;
  abstract take(value: T): void;

  unfit(value: T): TypeError | undefined {
    return value === null ? new TypeError("cannot send null on a gRPC call: it carries messages") : undefined;
  }

  end(): void {
    this.owner.writesEnded();
  }

  fail(reason: unknown): void {
    this.owner.writesAborted(reason);
  }

  abandon(): void {
    this.owner.writesAbandoned();
  }

  unobserved(reason: unknown): void {
    this.owner.unobserved(reason);
  }
}
