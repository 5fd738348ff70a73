/**
 * The shapes of grpc-js call objects that the adapters need, written structurally so that any
 * grpc-js streaming call fits (ts-proto, proto-loader or grpc-tools clients and servers alike) and
 * the message type flows from the call.
 *
 * @module
 */

/** An event listener of a call; method parameter bivariance lets grpc-js's `(...args: any[])` fit. */
export type CallListener = (...args: never[]) => void;

/** A call (or any object-mode Readable) whose reads are messages of type `T`. */
export interface ReadableCall<T> {
  /** Object-mode read: carries the message type. */
  read(size?: number): T | null;
  /** Subscribes to an event ('data', 'end', 'error', 'close', ...). */
  on(event: string, listener: CallListener): unknown;
  /** Unsubscribes. */
  removeListener(event: string, listener: CallListener): unknown;
  /** Stops the flow of 'data' events. */
  pause(): unknown;
  /** Resumes the flow of 'data' events. */
  resume(): unknown;
}

/** A call (or any object-mode Writable) that writes messages of type `T`. */
export interface WritableCall<T> {
  /** Writes one message; `false` means "wait for 'drain'". */
  write(message: T): boolean;
  /** Half-closes (client) or ends (server) the call. */
  end(): unknown;
  /** Subscribes to an event ('drain', 'error', 'close', 'cancelled', 'finish', ...). */
  on(event: string, listener: CallListener): unknown;
  /** Unsubscribes. */
  removeListener(event: string, listener: CallListener): unknown;
  /** Emits an event; a server call turns an emitted 'error' into its final status. */
  emit(event: string, ...args: unknown[]): boolean;
  /** Present on client calls: cancels the call. */
  cancel?: () => void;
}
