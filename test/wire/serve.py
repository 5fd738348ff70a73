"""Serves MessageService.StreamMessages with a python-grpcio handler, for the interop peers: on
127.0.0.1 (an ephemeral port), printing "port: N", until stdin closes (or the test kills the process)."""
import sys
from concurrent import futures

import grpc

from wire import decode_string_field, encode_string_field


def serve(stream_messages, max_workers: int = 4, grace: float = 1) -> int:
    """Runs `stream_messages(request_iterator, context)` (a generator of response strings) as the
    service's handler until stdin closes; returns the exit code."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
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
    sys.stdin.read()  # the test closes stdin (or kills us) to stop
    server.stop(grace=grace)
    return 0
