"""A python-grpcio client of the example server: sends NAME COUNT times, prints each response as a
line "response: <message>" after COUNT responses, half-closes, and exits 0 on an OK status."""
import sys
import threading
import queue

import grpc

from wire import METHOD, decode_string_field, encode_string_field


def main() -> int:
    target, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    channel = grpc.insecure_channel(target)
    call = channel.stream_stream(
        METHOD, request_serializer=encode_string_field, response_deserializer=decode_string_field
    )
    outgoing: "queue.Queue[str | None]" = queue.Queue()

    def requests():
        while True:
            item = outgoing.get()
            if item is None:
                return
            yield item

    responses = call(requests(), timeout=30)
    outgoing.put(name)
    got = 0
    for message in responses:
        if got < count:
            got += 1
            print(f"response: {message}", flush=True)
            if got == count:
                outgoing.put(None)  # half-close
            else:
                outgoing.put(name)
    print(f"status: {responses.code().name}", flush=True)
    channel.close()
    return 0 if responses.code() == grpc.StatusCode.OK and got == count else 1


if __name__ == "__main__":
    sys.exit(main())
