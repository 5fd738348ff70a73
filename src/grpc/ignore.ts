/**
 * The listener both sides' end watchers put on a call's 'error' event: an 'error' with no listener
 * would crash the process, and the error is reported another way (the client's 'status', the
 * server's 'cancelled').
 *
 * @internal
 */

/** An error-event listener that does nothing: the error is reported another way. */
export function ignore(): void {}
