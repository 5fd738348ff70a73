"""The python-grpcio interop client: the scenarios of the grpc-go client (test/wire/go/client/main.go),
under the same names, against a server of messages.MessageService and the test service test.Test
(the "x-mode" script of test/support/wire-script.ts). Prints one JSON line per scenario,
{"scenario":NAME,"code":"OK",...}, with grpcio's own code names (CANCELLED, not Go's Canceled).
Before it cancels a call it prints {"scenario":NAME,"event":"cancelling"}, so that the other side can
time how fast it learns.

grpcio's generic API only: channel.stream_stream(...) and friends with JSON (de)serializers.

Usage: py_scenarios_client.py TARGET SCENARIO...
"""
import queue
import sys
import time
from concurrent import futures

import grpc

from wire import (
    CHAT,
    COUNT,
    METHOD,
    SUM,
    decode_json,
    decode_string_field,
    emit,
    encode_json,
    encode_string_field,
    metadata_json,
)

# Every call's own bound, as the Go client's 15 s context per scenario.
TIMEOUT = 15


def chat(channel):
    return channel.stream_stream(CHAT, request_serializer=encode_json, response_deserializer=decode_json)


def finish(result: dict, call) -> dict:
    """Fills in how `call` ended: its code, details and trailers."""
    result["code"] = call.code().name
    result["message"] = call.details() or ""
    result["trailers"] = metadata_json(call.trailing_metadata())
    return result


class Outgoing:
    """A request iterator that yields what is put, until end() (the half-close) or the call ends."""

    def __init__(self):
        self._queue = queue.Queue()

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            yield item

    def put(self, message) -> None:
        self._queue.put(message)

    def end(self) -> None:
        self._queue.put(None)


def read_all(call):
    """Every response of `call` until its status (the call is its own status: finish() reads it)."""
    got = []
    try:
        for m in call:
            got.append(m)
    except grpc.RpcError:
        pass
    return got


def echo(channel, mode: str, msgs, metadata=(), **kwargs):
    """Sends msgs on a Chat call in `mode`, half-closes, and reads every response until the status."""
    call = chat(channel)(iter(msgs), metadata=(("x-mode", mode),) + tuple(metadata), timeout=TIMEOUT, **kwargs)
    return read_all(call), call


def numbered(n: int, text=None):
    return [{"n": i, **({"text": text(i)} if text else {})} for i in range(n)]


def in_order(got, want) -> bool:
    return got == want


def bidi_echo(channel):
    # Bidi: 100 messages echoed equal and in order, then OK with the server's trailers.
    want = numbered(100, lambda i: f"m{i} ✓")
    got, call = echo(channel, "echo", want, metadata=(("x-token-bin", b"\xff\x00\x01"),))
    return finish({"values": len(got), "inOrder": in_order(got, want)}, call)


def server_stream(channel):
    # Server streaming: Count {n: 50} gives 0..49.
    count = channel.unary_stream(COUNT, request_serializer=encode_json, response_deserializer=decode_json)
    call = count({"n": 50}, timeout=TIMEOUT)
    got = read_all(call)
    return finish({"values": len(got), "inOrder": in_order(got, numbered(50))}, call)


def client_stream(channel):
    # Client streaming: Sum of 1..100 is 5050.
    total = channel.stream_unary(SUM, request_serializer=encode_json, response_deserializer=decode_json)
    try:
        response, call = total.with_call(iter([{"n": i} for i in range(1, 101)]), timeout=TIMEOUT)
        return finish({"sum": response["n"], "text": response.get("text", "")}, call)
    except grpc.RpcError as call:
        return finish({}, call)


def messages(channel):
    # The reference service, protobuf hand-encoded (test/wire/wire.py): each name answered in order.
    stream = channel.stream_stream(
        METHOD, request_serializer=encode_string_field, response_deserializer=decode_string_field
    )
    call = stream(iter(["Py", "Pythonista ✓"]), timeout=TIMEOUT)
    return finish({"responses": read_all(call)}, call)


def cancel(channel):
    # Cancel: a Chat call the server holds open; once its headers came, the client cancels (RST_STREAM).
    outgoing = Outgoing()
    call = chat(channel)(iter(outgoing), metadata=(("x-mode", "hold"),), timeout=TIMEOUT)
    try:
        headers = call.initial_metadata()
        emit({"scenario": "cancel", "event": "cancelling"})
        start = time.monotonic()
        call.cancel()
        try:
            next(call)
        except (grpc.RpcError, StopIteration):
            pass
        elapsed = round((time.monotonic() - start) * 1000)
        return finish({"headers": metadata_json(headers), "elapsedMs": elapsed}, call)
    finally:
        outgoing.end()


def server_stream_cancel(channel):
    # Cancel of a server stream: Count {n: 2, text: "hold"} sends 2 and waits; after reading both,
    # the client cancels.
    count = channel.unary_stream(COUNT, request_serializer=encode_json, response_deserializer=decode_json)
    call = count({"n": 2, "text": "hold"}, timeout=TIMEOUT)
    got = 0
    try:
        for _ in range(2):
            next(call)
            got += 1
    except grpc.RpcError:
        return finish({"values": got}, call)
    emit({"scenario": "server-stream-cancel", "event": "cancelling"})
    call.cancel()
    try:
        next(call)
    except (grpc.RpcError, StopIteration):
        pass
    return finish({"values": got}, call)


def deadline(channel):
    # Deadline: a Chat call the server holds open, with a 300 ms timeout.
    outgoing = Outgoing()
    start = time.monotonic()
    call = chat(channel)(iter(outgoing), metadata=(("x-mode", "hold"),), timeout=0.3)
    try:
        try:
            next(call)
        except (grpc.RpcError, StopIteration):
            pass
        return finish({"elapsedMs": round((time.monotonic() - start) * 1000)}, call)
    finally:
        outgoing.end()


def error(channel):
    # Error status: the server reads one message and fails the call with trailers.
    got, call = echo(channel, "fail", [{"n": 7}])
    return finish({"values": len(got)}, call)


def after_half_close(channel):
    # A half-close ends only the client's direction: the server answers after it.
    got, call = echo(channel, "after-half-close", [{"n": 1}, {"n": 2}])
    return finish({"values": [f"{m['n']} {m.get('text', '')}" for m in got]}, call)


def gzip(channel):
    # gzip requests: 20 compressible messages of 12 KB sent with gzip, echoed (grpcio accepts gzip
    # answers). grpcio counts nothing it compresses: the test counts the bytes on the wire.
    want = numbered(20, lambda i: f"gzip {i} " * 1500)
    got, call = echo(channel, "echo", want, compression=grpc.Compression.Gzip)
    return finish({"values": len(got), "inOrder": in_order(got, want)}, call)


def large(channel):
    # 1 MiB each way.
    want = [{"n": 1, "text": "L" * (1 << 20)}]
    got, call = echo(channel, "echo", want)
    return finish({"values": len(got), "inOrder": in_order(got, want)}, call)


def too_large_send(channel):
    # A 5 MiB request: over the server's 4 MiB receive limit (grpcio sends any size by default).
    got, call = echo(channel, "echo", [{"n": 1, "text": "L" * (5 << 20)}])
    return finish({"values": len(got)}, call)


def too_large_recv(channel):
    # A small request whose answer is 5 MiB: over this client's 4 MiB receive limit.
    got, call = echo(channel, "size", [{"n": 5 << 20}])
    return finish({"values": len(got)}, call)


def concurrent(channel):
    # 200 concurrent Chat calls on one channel, 5 messages each, every one echoed.
    streams = 200

    def one(s: int):
        want = numbered(5, lambda i: f"s{s} m{i}")
        got, call = echo(channel, "echo", want)
        return call.code().name, got == want

    start = time.monotonic()
    with futures.ThreadPoolExecutor(max_workers=streams) as pool:
        results = list(pool.map(one, range(streams)))
    return {
        "streams": streams,
        "ok": sum(1 for code, same in results if code == "OK" and same),
        "codes": sorted({code for code, _ in results}),
        "elapsedMs": round((time.monotonic() - start) * 1000),
    }


SCENARIOS = {
    "bidi-echo": bidi_echo,
    "server-stream": server_stream,
    "client-stream": client_stream,
    "messages": messages,
    "cancel": cancel,
    "server-stream-cancel": server_stream_cancel,
    "deadline": deadline,
    "error": error,
    "after-half-close": after_half_close,
    "gzip": gzip,
    "large": large,
    "too-large-send": too_large_send,
    "too-large-recv": too_large_recv,
    "concurrent": concurrent,
}


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: py_scenarios_client.py TARGET SCENARIO...", file=sys.stderr)
        return 2
    unknown = [name for name in sys.argv[2:] if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenario {unknown[0]!r}", file=sys.stderr)
        return 2
    with grpc.insecure_channel(sys.argv[1]) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        for name in sys.argv[2:]:
            result = SCENARIOS[name](channel)
            result["scenario"] = name
            emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
