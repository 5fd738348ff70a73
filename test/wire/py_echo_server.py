"""A python-grpcio server of the reference service that answers each request {name} with
{message: "echo: <name>"} in order. Listens on 127.0.0.1 (ephemeral port), prints "port: N", and
runs until killed or stdin closes."""
import sys

from serve import serve


def stream_messages(request_iterator, context):
    for name in request_iterator:
        yield f"echo: {name}"


if __name__ == "__main__":
    sys.exit(serve(stream_messages))
