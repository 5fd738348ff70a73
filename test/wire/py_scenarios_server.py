"""The python-grpcio interop server, mirroring the grpc-go one (test/wire/go/server/main.go):
messages.MessageService (each name answered "echo: <name>", protobuf hand-encoded) and the test
service test.Test (Chat, Count, Sum; the "x-mode" request header picks the behaviour, the script of
test/support/wire-script.ts). grpcio's generic handlers only, JSON (de)serializers.

Listens on 127.0.0.1 (an ephemeral port), prints {"event":"listening","port":N}, and prints one JSON
line per call that ended by the client going away ({"event":"ended",...}). Runs until stdin closes.

Where grpcio does not do what grpc-go does: it answers a gzip request uncompressed unless the handler
asks (the mode "gzip" is the echo with gzip answers); it has no hook to count the messages it compresses and
decompresses (the test counts bytes on the wire instead), and a handler is not told why its call
ended: a call that ended with its deadline passed is reported DEADLINE_EXCEEDED, any other CANCELLED.
"""
import sys
import threading
from concurrent import futures

import grpc

from wire import decode_json, decode_string_field, emit, encode_json, encode_string_field


def deadline_ms(context) -> int:
    """How much of the call's deadline was left, in ms (-1: none)."""
    left = context.time_remaining()  # grpcio: a huge number, or infinity, when there is none
    return -1 if left is None or left > 1e6 else round(left * 1000)


def report_end(method: str, mode: str, context) -> threading.Event:
    """Reports how the call ends, as the Go server's ended(), once it ends (the client cancelled, or
    its deadline passed); returns an event set then. Registered before the handler's first yield:
    grpcio never resumes a generator whose send failed on the client's reset, so code after that
    yield would not run."""
    left = deadline_ms(context)
    over = threading.Event()

    def ended():
        past = left >= 0 and (context.time_remaining() or 0) <= 0
        code = "DEADLINE_EXCEEDED" if past else "CANCELLED"
        emit({"event": "ended", "method": method, "mode": mode, "code": code, "deadlineMs": left})
        over.set()

    if not context.add_callback(ended):
        ended()  # already over
    return over


def chat(request_iterator, context):
    md = dict(context.invocation_metadata())
    mode = md.get("x-mode", "echo")
    if mode == "hold":
        over = report_end("Chat", mode, context)
        context.send_initial_metadata((("x-held", "yes"),))
        over.wait()
        return
    if mode == "fail":
        first = next(request_iterator)
        context.set_trailing_metadata((("retry-after-ms", "250"), ("reason-bin", b"\x00\x01\x02")))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"rejected n={first['n']}")
    if mode == "gzip":
        # grpc-go answers in the request's encoding; the C core only where asked, so this mode asks.
        context.set_compression(grpc.Compression.Gzip)
    read = 0
    for m in request_iterator:
        read += 1
        if mode == "size":
            yield {"n": m["n"], "text": "x" * m["n"]}
        elif mode != "after-half-close":
            yield m
    if mode == "after-half-close":
        for i in range(3):
            yield {"n": read + i, "text": "after half-close"}
    # A binary request header comes back as a trailer: -bin metadata crosses both ways.
    trailers = [("x-echoed", str(read))]
    if "x-token-bin" in md:
        trailers.append(("x-token-bin", md["x-token-bin"]))
    context.set_trailing_metadata(tuple(trailers))


def count(request, context):
    over = report_end("Count", "hold", context) if request.get("text") == "hold" else None
    for i in range(request["n"]):
        yield {"n": i}
    if over is not None:
        over.wait()


def total(request_iterator, context):
    s, n = 0, 0
    for m in request_iterator:
        s += m["n"]
        n += 1
    return {"n": s, "text": f"count={n}"}


def stream_messages(request_iterator, context):
    for name in request_iterator:
        yield f"echo: {name}"


def json_method(kind, behaviour):
    return kind(behaviour, request_deserializer=decode_json, response_serializer=encode_json)


def main() -> int:
    # A thread per call: the 200-stream scenario runs them all at once.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=256))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "test.Test",
                {
                    "Chat": json_method(grpc.stream_stream_rpc_method_handler, chat),
                    "Count": json_method(grpc.unary_stream_rpc_method_handler, count),
                    "Sum": json_method(grpc.stream_unary_rpc_method_handler, total),
                },
            ),
            grpc.method_handlers_generic_handler(
                "messages.MessageService",
                {
                    "StreamMessages": grpc.stream_stream_rpc_method_handler(
                        stream_messages,
                        request_deserializer=decode_string_field,
                        response_serializer=encode_string_field,
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    emit({"event": "listening", "port": port})
    sys.stdin.read()  # the test closes stdin (or kills us) to stop
    server.stop(grace=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
