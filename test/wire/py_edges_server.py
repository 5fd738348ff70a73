"""A python-grpcio server of the reference service that ends each call early, as a peer may:
MODE "ok-after-one" reads one request and ends the call with OK; "error-after-one" reads one and
ends it with INVALID_ARGUMENT. It does not read the rest. Listens on 127.0.0.1 (ephemeral port),
prints "port: N", and runs until stdin closes."""
import sys

import grpc

from serve import serve


def main() -> int:
    mode = sys.argv[1]

    def stream_messages(request_iterator, context):
        first = next(request_iterator)
        if mode == "error-after-one":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"rejected after {len(first)} bytes")
        return
        yield  # a generator: the call ends when it returns

    return serve(stream_messages, grace=0)


if __name__ == "__main__":
    sys.exit(main())
