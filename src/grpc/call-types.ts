/**
 * The shapes of grpc-js call objects that the adapters need, written structurally so that any
 * grpc-js streaming call fits (ts-proto, proto-loader or grpc-tools clients and servers alike, from
 * any copy of grpc-js) and the message type flows from the call.
 *
 * @module
 */

/** An event listener of a call; method parameter bivariance lets grpc-js's `(...args: any[])` fit. */
export type CallListener = (...args: never[]) => void;

/** The EventEmitter side of a call: the adapters listen for the events that end it. */
interface Emitter {
  /** The adapters listen for 'data', 'end', 'drain', 'status', 'metadata', 'cancelled', 'close', 'error'. */
  on(event: string, listener: CallListener): unknown;
  /** The adapters remove their listeners once the call ended, except one for 'error'. */
  removeListener(event: string, listener: CallListener): unknown;
}

/** A call (or any object-mode Readable) whose reads are messages of type `T`. */
export interface ReadableCall<T> extends Emitter {
  /** Not called by the adapters (they read 'data' events): its return type is where `T` comes from. */
  read(size?: number): T | null;
  /** Stops the flow of 'data' events (the adapters' backpressure). */
  pause(): unknown;
  /** Resumes the flow of 'data' events. */
  resume(): unknown;
}

/** A call (or any object-mode Writable) that writes messages of type `T`. */
export interface WritableCall<T> extends Emitter {
  /** Writes one message; `callback` runs once it was handed on (to HTTP/2, for a grpc-js call). */
  write(message: T, callback?: (error?: Error | null) => void): boolean;
  /** Half-closes (client) or ends (server) the call. */
  end(): unknown;
  /** Emits an event; a server call turns an emitted 'error' into its final status. */
  emit(event: string, ...args: unknown[]): boolean;
  /** Present on client calls: cancels the call. */
  cancel?: () => void;
}
