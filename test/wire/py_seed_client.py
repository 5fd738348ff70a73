"""A python-grpcio client of MessageService that behaves like the seed's tonic client: it sends its
name every --interval-ms, prints each response as a line "response: <message>", and after --count
responses cancels the call (tonic drops the response stream) and prints "cancelled after N responses".

With --half-close-after K it half-closes its stream after K names (printing "half-closed after K
names") and keeps reading: a half-close is not a goodbye, so the hellos must keep coming.

Exit 0 once it cancelled as planned; if the call ends first, prints "status: <CODE> <details>" and
exits 1. Usage: py_seed_client.py TARGET [--name N] [--count N] [--interval-ms N] [--half-close-after K]
"""
import argparse
import sys
import threading

import grpc

from wire import METHOD, decode_string_field, encode_string_field


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--name", default="Py")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--half-close-after", type=int, default=None)
    args = parser.parse_args()

    channel = grpc.insecure_channel(args.target)
    call = channel.stream_stream(
        METHOD, request_serializer=encode_string_field, response_deserializer=decode_string_field
    )
    stop = threading.Event()

    def names():
        sent = 0
        while not stop.is_set():
            if args.half_close_after is not None and sent >= args.half_close_after:
                print(f"half-closed after {sent} name{'' if sent == 1 else 's'}", flush=True)
                return  # the end of the request iterator is the half-close
            yield args.name
            sent += 1
            stop.wait(args.interval_ms / 1000)

    responses = call(names(), timeout=30)
    got = 0
    try:
        for message in responses:
            got += 1
            print(f"response: {message}", flush=True)
            if got == args.count:
                stop.set()
                responses.cancel()
                print(f"cancelled after {got} responses", flush=True)
                channel.close()
                return 0
        print(f"status: {responses.code().name} {responses.details()}", flush=True)
    except grpc.RpcError as err:
        print(f"status: {err.code().name} {err.details()}", flush=True)
    channel.close()
    return 1


if __name__ == "__main__":
    sys.exit(main())
