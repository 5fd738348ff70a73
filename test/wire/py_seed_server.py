"""A python-grpcio MessageService server that behaves like the seed's tonic server: each call gets
"Hello, world!" every --interval-ms until the client goes away, whatever the client's own stream does
(its names are read and printed as "name: <name>", its half-close as "half-closed"). When a call ends
it prints "call ended after N hellos (active: False)".

With --fail-after N it ends each call after N hellos with RESOURCE_EXHAUSTED "no more hellos" and the
trailers retry-after-ms=250 and reason-bin=<bytes 00 01 02>.

Listens on 127.0.0.1 (ephemeral port), prints "port: N", and runs until killed or stdin closes.
"""
import argparse
import sys
import threading
import time

import grpc

from serve import serve

args = None


_say_lock = threading.Lock()


def say(line: str) -> None:
    # One write per line, under a lock: the reader thread and the call's end callback print at the
    # same moment when a client resets the stream, and print()'s two writes would interleave.
    with _say_lock:
        sys.stdout.write(f"{line}\n")
        sys.stdout.flush()


def stream_messages(request_iterator, context):
    sent = 0

    def ended():
        say(f"call ended after {sent} hellos (active: {context.is_active()})")

    context.add_callback(ended)

    def read_names():
        try:
            for name in request_iterator:
                say(f"name: {name}")
            say("half-closed")
        except Exception as err:  # the call was cancelled while reading
            say(f"requests ended: {type(err).__name__}")

    threading.Thread(target=read_names, daemon=True).start()
    while context.is_active():
        time.sleep(args.interval_ms / 1000)
        if args.fail_after is not None and sent >= args.fail_after:
            context.set_trailing_metadata((("retry-after-ms", "250"), ("reason-bin", b"\x00\x01\x02")))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "no more hellos")
        sent += 1
        yield "Hello, world!"


def main() -> int:
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--fail-after", type=int, default=None)
    args = parser.parse_args()
    return serve(stream_messages, max_workers=8)


if __name__ == "__main__":
    sys.exit(main())
