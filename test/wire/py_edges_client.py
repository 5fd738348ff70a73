"""A python-grpcio client that cancels: sends one name, reads RESPONSES responses, then cancels the
call (RST_STREAM CANCEL on the wire) without half-closing first. Prints "cancelled" and exits 0."""
import queue
import sys

import grpc

from wire import METHOD, decode_string_field, encode_string_field


def main() -> int:
    target, wanted = sys.argv[1], int(sys.argv[2])
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
    outgoing.put("Py")
    got = 0
    for _ in responses:
        got += 1
        if got == wanted:
            responses.cancel()
            break
    print("cancelled", flush=True)
    outgoing.put(None)
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
