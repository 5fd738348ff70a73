/**
 * The metrics snapshot of a channel: a few counters the core keeps anyway, copied into a plain
 * object only when somebody asks (`Sender.metrics()`, `Receiver.metrics()`).
 *
 * @internal
 */

/**
 * What {@link Sender.metrics} and {@link Receiver.metrics} report: one channel's state now and its
 * totals since it was made. A plain object, made on each call: poll it from a metrics exporter.
 */
export interface ChannelMetrics {
  /** Values buffered now (as `Receiver.len`). */
  readonly len: number;
  /** The capacity the channel was made with (`Infinity` when unbounded). */
  readonly maxCapacity: number;
  /** Sends and reserves parked now, waiting for a slot. */
  readonly waitingSenders: number;
  /** Receives parked now, waiting for a value (0 or 1: one consumer). */
  readonly waitingReceivers: number;
  /** Values that went into the channel so far (buffered, or handed straight to a receiver or to a call). */
  readonly sent: number;
  /** Values received so far. */
  readonly received: number;
  /** Values an overflow policy dropped so far. */
  readonly dropped: number;
}
