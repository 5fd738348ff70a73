"""A python-grpcio server of the reference service that ends each call early, as a peer may:
MODE "ok-after-one" reads one request and ends the call with OK; "error-after-one" reads one and
ends it with INVALID_ARGUMENT. It does not read the rest. Listens on 127.0.0.1 (ephemeral port),
prints "port: N", and runs until stdin closes."""
import sys
from concurrent import futures

import grpc

from wire import decode_string_field, encode_string_field


def main() -> int:
    mode = sys.argv[1]

    def stream_messages(request_iterator, context):
        first = next(request_iterator)
        if mode == "error-after-one":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"rejected after {len(first)} bytes")
        return
        yield  # a generator: the call ends when it returns

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.method_handlers_generic_handler(
        "messages.MessageService",
        {
            "StreamMessages": grpc.stream_stream_rpc_method_handler(
                stream_messages,
                request_deserializer=decode_string_field,
                response_serializer=encode_string_field,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"port: {port}", flush=True)
    sys.stdin.read()
    server.stop(grace=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
