"""What the python-grpcio interop peers share, so that they need nothing but Debian's python3-grpcio:
no protoc, no generated code. Hand-encoded protobuf for the reference service (one string field,
number 1); JSON for the test service; JSON-line output."""
import base64
import json
import sys
import threading


def encode_string_field(text: str) -> bytes:
    data = text.encode("utf-8")
    out = bytearray([0x0A])  # field 1, wire type 2 (length-delimited)
    n = len(data)
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            break
    return bytes(out + data)


def decode_string_field(raw: bytes) -> str:
    i = 0
    value = ""
    while i < len(raw):
        key = raw[i]
        i += 1
        length = 0
        shift = 0
        while True:
            b = raw[i]
            i += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if key == 0x0A:
            value = raw[i : i + length].decode("utf-8")
        i += length
    return value


METHOD = "/messages.MessageService/StreamMessages"


# The test service of test/support/grpc.ts (test.Test: Chat, Count, Sum), JSON messages on the wire
# ({"n": 1, "text": "..."}), as the grpc-go peers speak it (test/wire/go/peer/peer.go).
CHAT = "/test.Test/Chat"
COUNT = "/test.Test/Count"
SUM = "/test.Test/Sum"


def encode_json(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_json(raw: bytes) -> dict:
    return json.loads(raw.decode("utf-8"))


_emit_lock = threading.Lock()


def emit(line: dict) -> None:
    """Prints `line` as one compact JSON line on stdout (one write, safe from any thread)."""
    text = json.dumps(line, separators=(",", ":"))  # ASCII: whatever the locale of the pipe
    with _emit_lock:
        sys.stdout.write(f"{text}\n")
        sys.stdout.flush()


def metadata_json(metadata) -> dict:
    """Metadata flattened to key -> values joined by ","; "-bin" values base64 (padded), as the Go
    peers print them (peer.MetadataJSON)."""
    out: dict = {}
    for key, value in metadata or ():
        text = base64.b64encode(value).decode("ascii") if key.endswith("-bin") else value
        out[key] = f"{out[key]},{text}" if key in out else text
    return out
