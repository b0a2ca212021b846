#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ from the conversations of core's tests.

Run from anywhere: `python3 fuzz/make_seeds.py`. Each seed is a small binary file named after
what it holds. The layouts are those the targets read:

- http_stream: 4 chunk-plan bytes, then the client's bytes;
- ws_frames:   1 option byte, 4 chunk-plan bytes, then the frames after the upgrade to /echo;
- connection:  the `arbitrary` encoding of `Script` (arbitrary 1.x: integers little-endian, an
               enum variant as a u32 scaled to the variant count, and every collection element
               preceded by a "keep going" byte, 1, the collection ended by a 0).
- eio_decoders: 1 option byte (max payload, attachment limit), then the bytes;
- eio_sessions: the `arbitrary` encoding of that target's `Script`, as for connection (the
               seeds use no `String` field, whose length prefix is awkward to write by hand).

`cargo fuzz fmt connection fuzz/seeds/connection/<seed>` shows how a seed decodes.
"""

import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def upgrade(path="/echo", extra=""):
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost:8005\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
        f"{extra}\r\n"
    ).encode()


def frame(opcode, payload=b"", fin=True, masked=True, first=None):
    """A client frame; `first` overrides the FIN/RSV/opcode byte."""
    b0 = first if first is not None else (0x80 if fin else 0) | opcode
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n <= 125:
        head = bytes([b0, mask_bit | n])
    elif n <= 0xFFFF:
        head = bytes([b0, mask_bit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mask_bit | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    body = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return head + MASK + body


def close(code, reason=b""):
    return frame(8, struct.pack(">H", code) + reason)


GET = b"GET / HTTP/1.1\r\nHost: localhost:8005\r\n\r\n"

HTTP = {
    "get_root": GET,
    "get_root_lf_only": b"GET / HTTP/1.1\nHost: x\n\n",
    "pipelined": b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"
    + GET,
    "post_content_length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + GET,
    "post_chunked": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n" + GET,
    "post_too_big": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n",
    "smuggling": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two_lengths": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "head_and_conditional": b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
    b'GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/"1-2"\r\n\r\n'
    b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n",
    "connection_close": b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + GET,
    "http10_keep_alive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    "not_found_escaped": b"GET /<script>alert('x')</script>?q=\"&\" HTTP/1.1\r\nHost: x\r\n\r\n",
    "traversal": b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"
    b"GET /..%2fsecret HTTP/1.1\r\nHost: x\r\n\r\nGET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"
    b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    "absolute_form": b"GET http://localhost:8005/favicon.ico?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    "garbage": b"GARBAGE\r\n\r\n",
    "bad_header": b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    "many_headers": b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n",
    "slowloris_start": b"GET / HTTP/1.1\r\nX-A: ",
    "upgrade_then_frames": upgrade("/echo") + frame(1, b"hello") + close(1000),
    "upgrade_ticker_forwarded": upgrade("/", "X-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n")
    + frame(1, "클라이언트에서 서버로 답장을 보냅니다".encode()),
    "upgrade_bad_version": upgrade("/").replace(b"Version: 13", b"Version: 8"),
    "upgrade_cross_origin": upgrade("/", "Origin: http://evil.example\r\n"),
    "upgrade_no_key": upgrade("/").replace(KEY.encode(), b"short"),
    "upgrade_post": upgrade("/").replace(b"GET", b"POST", 1),
}

WS = {
    "text": frame(1, b"hello"),
    "binary": frame(2, bytes([1, 2, 3, 0xFF])),
    "ping_pong": frame(9, b"are you there") + frame(10, b"") + frame(1, b"after"),
    "close": close(1000, b"bye"),
    "close_empty": frame(8),
    "close_bad_code": close(1005),
    "close_one_byte": frame(8, b"\x03"),
    "fragmented": frame(1, b"frag", fin=False) + frame(9, b"mid") + frame(0, b"ment", fin=False)
    + frame(0, b"ed"),
    "split_utf8": frame(1, "a€b".encode()[:2], fin=False) + frame(0, "a€b".encode()[2:]),
    "invalid_utf8": frame(1, b"ok\xff", fin=False) + frame(0, b"x"),
    "unmasked": frame(1, b"hi", masked=False),
    "rsv1": frame(1, b"hi", first=0x80 | 0x40 | 1),
    "reserved_opcode": frame(3),
    "fragmented_ping": frame(9, fin=False),
    "long_ping": frame(9, b"x" * 126),
    "continuation_of_nothing": frame(0, b"x"),
    "medium": frame(2, bytes(range(256)) * 2),
    "long_length_form": bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 5) + MASK
    + bytes(b ^ MASK[i % 4] for i, b in enumerate(b"12345")),
    "length_msb": bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 1 << 63) + MASK,
    "too_big": bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 17 * 1024 * 1024) + MASK + b"abc",
}

# Chunk plans: whole, byte by byte, and uneven splits.
PLANS = [b"\x00\x00\x00\x00", b"\x01\x01\x01\x01", b"\x05\x11\x02\x40"]


# ws_frames option byte: bits 0-1 pick the decoder's message limit (16 MiB, 0, 16, 300), bit 2
# calls release_memory after every decode.
WS_OPTIONS = [0x00, 0x04, 0x07]


# ---- arbitrary 1.x encoding of the `connection` target's Script ----

OPS = ["Input", "InputUpgrade", "InputFrame", "Eof", "Advance", "AdvanceSecs", "Shutdown",
       "Written", "IoError"]
UPGRADE_SELECTORS = {"/echo": 0, "/": 1, "/room?x=1": 2, "version": 3, "origin": 4, "key": 5,
                     "body": 6}


def variant(name):
    """The smallest u32 that derive(Arbitrary) maps to this variant: (v * count) >> 32."""
    index, count = OPS.index(name), len(OPS)
    return struct.pack("<I", (index * (1 << 32) + count - 1) // count)


def vec_u8(data):
    return b"".join(b"\x01" + bytes([b]) for b in data) + b"\x00"


def op(name, *args):
    out = variant(name)
    if name == "Input":
        out += vec_u8(args[0])
    elif name == "InputUpgrade":
        out += bytes([UPGRADE_SELECTORS[args[0]]])
    elif name == "InputFrame":
        first, payload = args
        out += bytes([first]) + vec_u8(payload)
    elif name in ("Advance", "Written"):
        out += struct.pack("<H", args[0])
    elif name == "AdvanceSecs":
        out += bytes([args[0]])
    return out


def script(hwm, *ops):
    return struct.pack("<H", hwm) + b"".join(b"\x01" + o for o in ops) + b"\x00"


def text(payload, fin=True):
    return op("InputFrame", (0x80 if fin else 0) | 1, payload)


CONNECTION = {
    "get_and_write": script(65535, op("Input", GET), op("Written", 65535), op("Advance", 5000)),
    "pipelined_backpressure": script(
        10,
        op("Input", GET * 3),
        op("Written", 100),
        op("Written", 700),
        op("Written", 65535),
        op("Written", 65535),
        op("Written", 65535),
    ),
    "echo_conversation": script(
        4096,
        op("InputUpgrade", "/echo"),
        op("Written", 65535),
        text(b"hello"),
        op("InputFrame", 0x89, b"ping"),
        op("Written", 3),
        op("Written", 65535),
        op("InputFrame", 0x88, b"\x03\xe8bye"),
        op("Written", 65535),
        op("Eof"),
    ),
    "ticker_ticks_and_ping": script(
        65535,
        op("InputUpgrade", "/"),
        op("Written", 65535),
        op("AdvanceSecs", 3),
        op("Written", 65535),
        text("클라이언트에서 서버로 답장을 보냅니다".encode()),
        op("Advance", 6000),
        op("AdvanceSecs", 30),
        op("InputFrame", 0x8A, b""),
        op("AdvanceSecs", 61),
    ),
    "shutdown_during_websocket": script(
        65535,
        op("InputUpgrade", "/"),
        op("Written", 65535),
        op("Shutdown"),
        op("Written", 65535),
        op("Advance", 4000),
        op("InputFrame", 0x88, b"\x03\xe9"),
        op("Written", 65535),
    ),
    "close_timeout": script(
        65535,
        op("InputUpgrade", "/echo"),
        op("Input", frame(3)),
        op("Written", 65535),
        op("AdvanceSecs", 6),
    ),
    "fragments": script(
        65535,
        op("InputUpgrade", "/echo"),
        text(b"frag", fin=False),
        op("InputFrame", 0x89, b""),
        op("InputFrame", 0x80, b"ment"),
        op("Written", 65535),
    ),
    "slowloris": script(
        65535,
        op("Input", b"GET / HTTP/1.1\r\n"),
        op("Advance", 3000),
        op("Input", b"X"),
        op("AdvanceSecs", 11),
    ),
    "refused_upgrades": script(65535, op("InputUpgrade", "version"), op("Written", 65535), op("Eof")),
    "eof_mid_request": script(65535, op("Input", b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab"),
                              op("Eof")),
    "io_error": script(65535, op("InputUpgrade", "/echo"), op("IoError"), op("Input", b"x")),
    "shutdown_http": script(0, op("Input", GET), op("Shutdown"), op("Written", 10),
                            op("Written", 65535)),
}


# ---- eio_decoders: option byte 0x02 = max payload 300, 10 attachments; 0x0b = 1 MB, 10 ----

EIO_DECODERS = {
    "ws_message": b"\x0b4hello",
    "probe": b"\x0b2probe",
    "pong": b"\x0b3",
    "open": b'\x0b0{"sid":"ABCDEFGHIJKLMNOPQRST","upgrades":["websocket"]}',
    "polling_body": b"\x0b4hello\x1ebAQIDBA==\x1e2\x1e3\x1e6",
    "polling_too_large": b"\x00" + b"4" + b"x" * 40,
    "sio_event": b'\x0b2["chat message","hi",{"a":[1,2.5,null]}]',
    "sio_event_ns_ack": b'\x0b2/chat,17["x",1]',
    "sio_binary_event": b'\x0b51-["upload",{"_placeholder":true,"num":0}]',
    "sio_binary_ack": b'\x0b61-/nsp,5[{"_placeholder":true,"num":0}]',
    "sio_ack": b'\x0b3/chat,12["ok"]',
    "sio_connect": b'\x0b0/admin,{"token":"1"}',
    "sio_connect_error": b'\x0b4{"message":"Invalid namespace"}',
    "sio_disconnect": b"\x0b1/chat,",
    "sid": b"\x0bABCDEFGHIJKLMNOPQRST",
    "query": b"\x0bEIO=4&transport=polling&t=N8hyd6w&sid=ABCDEFGHIJKLMNOPQRST",
}


# ---- arbitrary 1.x encoding of the `eio_sessions` target's Script ----


def pick(options, name):
    """The smallest u32 that derive(Arbitrary) maps to this variant."""
    index, count = options.index(name), len(options)
    return struct.pack("<I", (index * (1 << 32) + count - 1) // count)


EIO_OPS = ["OpenPolling", "OpenWebSocket", "Get", "Post", "Upgrade", "Raw", "Ws", "WsDropped",
           "GetAborted", "Stall", "Send", "SendMany", "Close", "Wait", "WaitForDeadline", "Late"]
WHO = ["Session", "Forged", "Garbage"]
CLIENT_PACKETS = ["Pong", "Ping", "Message", "Binary", "Close", "Upgrade", "Noop", "Open"]
BODIES = ["Packets", "Raw", "Oversized"]
WS_TEXTS = ["Probe", "Upgrade", "Pong", "Ping", "Close", "Noop", "Message", "Binary", "Garbage",
            "Oversized"]


def who(session):
    """`Who::Session(n)`, or a forged sid for a bytes value of 15 random bytes."""
    if isinstance(session, bytes):
        return pick(WHO, "Forged") + session
    return pick(WHO, "Session") + bytes([session])


def client_packet(name, data=b""):
    out = pick(CLIENT_PACKETS, name)
    return out + vec_u8(data) if name == "Binary" else out


def body(kind, arg):
    if kind == "Packets":
        return pick(BODIES, kind) + b"".join(b"\x01" + p for p in arg) + b"\x00"
    if kind == "Raw":
        return pick(BODIES, kind) + vec_u8(arg)
    return pick(BODIES, kind) + bytes([arg])


def ws_text(name, arg=None):
    out = pick(WS_TEXTS, name)
    if name in ("Binary", "Garbage"):
        return out + vec_u8(arg)
    if name == "Oversized":
        return out + bytes([arg])
    return out


def eio(name, *args):
    out = pick(EIO_OPS, name)
    if name in ("Get", "Upgrade", "Close"):
        out += who(args[0])
    elif name == "Post":
        out += who(args[0]) + args[1]
    elif name == "Ws":
        out += who(args[0]) + args[1]
    elif name in ("WsDropped", "GetAborted"):
        out += bytes([args[0]])
    elif name == "Stall":
        out += bytes([args[0], int(args[1])])
    elif name == "Send":
        out += who(args[0]) + bytes([int(args[1])]) + struct.pack("<H", args[2])
    elif name == "SendMany":
        out += vec_u8(args[0]) + bytes([int(args[1])]) + struct.pack("<H", args[2])
    elif name in ("Wait", "Late"):
        out += struct.pack("<H", args[0])
    return out


def eio_script(ops, ping=99, timeout=99, upgrade=99, close=49, max_payload=1000, hwm=4000,
               upgrades=True):
    settings = bytes([ping, timeout, upgrade, close]) + struct.pack("<HH", max_payload, hwm)
    settings += bytes([int(upgrades)])
    return settings + b"".join(b"\x01" + o for o in ops) + b"\x00"


EIO_SESSIONS = {
    "polling_conversation": eio_script([
        eio("OpenPolling"),
        eio("Get", 0),
        eio("Send", 0, False, 10),
        eio("Post", 0, body("Packets", [client_packet("Binary", b"\x01\x02\x03"),
                                        client_packet("Noop")])),
        eio("Wait", 101),
        eio("Get", 0),
        eio("Post", 0, body("Packets", [client_packet("Pong")])),
        eio("Send", 0, True, 3),
        eio("Close", 0),
        eio("Get", 0),
        eio("Wait", 60),
    ]),
    "websocket_conversation": eio_script([
        eio("OpenWebSocket"),
        eio("Send", 0, True, 5),
        eio("Wait", 100),
        eio("Ws", 0, ws_text("Pong")),
        eio("Ws", 0, ws_text("Binary", b"\x00\xff")),
        eio("WaitForDeadline"),
        eio("Ws", 0, ws_text("Close")),
    ]),
    "upgrade": eio_script([
        eio("OpenPolling"),
        eio("Get", 0),
        eio("Upgrade", 0),
        eio("Ws", 0, ws_text("Probe")),
        eio("Ws", 0, ws_text("Upgrade")),
        eio("Send", 0, False, 4),
        eio("Get", 0),
        eio("Wait", 100),
        eio("Ws", 0, ws_text("Pong")),
        eio("WsDropped", 0),
    ]),
    "upgrade_times_out": eio_script([
        eio("OpenPolling"),
        eio("Upgrade", 0),
        eio("Ws", 0, ws_text("Probe")),
        eio("Get", 0),
        eio("Wait", 100),
        eio("Get", 0),
        eio("Upgrade", 0),
    ]),
    "several_sessions_broadcast": eio_script([
        eio("OpenPolling"),
        eio("OpenWebSocket"),
        eio("OpenPolling"),
        eio("Get", 0),
        eio("SendMany", [0, 1, 2], False, 20),
        eio("Stall", 0, True),
        eio("SendMany", [0, 1, 2], True, 500),
        eio("SendMany", [0, 1, 2], True, 500),
        eio("Late", 150),
        eio("Get", 2),
        eio("Stall", 0, False),
        eio("WaitForDeadline"),
        eio("Close", 1),
    ], hwm=1200),
    "hostile_requests": eio_script([
        eio("OpenPolling"),
        eio("Get", bytes(range(15))),
        eio("Post", 0, body("Oversized", 3)),
        eio("Get", 0),
        eio("Get", 0),
        eio("OpenPolling"),
        eio("Get", 1),
        eio("GetAborted", 0),
        eio("OpenPolling"),
        eio("Post", 2, body("Raw", b"b!!")),
        eio("OpenWebSocket"),
        eio("Ws", 3, ws_text("Oversized", 1)),
        eio("OpenWebSocket"),
        eio("Ws", 4, ws_text("Ping")),
    ], max_payload=64),
}


def write(target, name, data):
    directory = os.path.join(ROOT, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    for name, data in HTTP.items():
        for i, plan in enumerate(PLANS):
            write("http_stream", f"{name}.{i}", plan + data)
    for name, data in WS.items():
        for i, plan in enumerate(PLANS):
            write("ws_frames", f"{name}.{i}", bytes([WS_OPTIONS[i]]) + plan + data)
    for name, data in CONNECTION.items():
        write("connection", name, data)
    for name, data in EIO_DECODERS.items():
        write("eio_decoders", name, data)
    for name, data in EIO_SESSIONS.items():
        write("eio_sessions", name, data)


if __name__ == "__main__":
    main()
