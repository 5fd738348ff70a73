/**
 * The metrics snapshots of a broadcast channel and of one of its receivers.
 *
 * @internal
 */

/** What {@link BroadcastSender.metrics} reports. */
export interface BroadcastMetrics {
  /** Values held that some receiver has not read yet (as `BroadcastSender.len`). */
  readonly len: number;
  /** The capacity the broadcast was made with. */
  readonly capacity: number;
  /** Receivers subscribed now. */
  readonly receivers: number;
  /** Receivers parked now, waiting for the next value. */
  readonly waitingReceivers: number;
  /** Values sent so far. */
  readonly sent: number;
  /** Values missed by lagging receivers so far, all receivers together (each `Lagged`'s `missed`). */
  readonly lagged: number;
}

/** What {@link BroadcastReceiver.metrics} reports. */
export interface BroadcastReceiverMetrics {
  /** Values sent that this receiver has not read yet (as `BroadcastReceiver.len`). */
  readonly len: number;
  /** Values it read so far. */
  readonly received: number;
  /** Values it missed by lagging so far. */
  readonly lagged: number;
}
