"""Hand-encoded protobuf for the reference service (one string field, number 1), so that the
interoperability peers need nothing but Debian's python3-grpcio: no protoc, no generated code."""


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
