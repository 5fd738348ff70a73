"""A python-grpcio server of the reference service that answers each request {name} with
{message: "echo: <name>"} in order. Listens on 127.0.0.1 (ephemeral port), prints "port: N", and
runs until killed or stdin closes."""
import sys
from concurrent import futures

import grpc

from wire import decode_string_field, encode_string_field


def stream_messages(request_iterator, context):
    for name in request_iterator:
        yield f"echo: {name}"


def main() -> int:
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
    sys.stdin.read()  # the test closes stdin (or kills us) to stop
    server.stop(grace=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
