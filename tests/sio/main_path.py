"""The main path with python-socketio (pinned in requirements.txt), a second independent client.

    .venv/bin/python main_path.py URL      (URL also from SIO_URL)

Against a server running gif-chat's conformance app (README.md beside this file): over
WebSocket only and over polling only, a client joins the main namespace and /custom with an
auth payload, receives `auth` back on both, gets `message-back` for `message` and its arguments
back as the ack of `message-with-ack`, then joins two /relay clients to one room and checks a
`chat` reaches both. Prints one JSON line per scenario and exits 1 when any failed.
"""

import json
import os
from importlib.metadata import version
import queue
import sys
import time

import socketio

WAIT = 10.0
CLIENT = "python-socketio " + version("python-socketio")


class Failure(Exception):
    pass


def same(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: expected {expected!r}, got {actual!r}")


def payload(args, count):
    """The first `count` arguments, allowing the offset a recovering server appends."""
    if not (len(args) == count or (len(args) == count + 1 and isinstance(args[count], str))):
        raise Failure(f"expected {count} argument(s) (and perhaps an offset), got {args!r}")
    return list(args[:count])


class Recorder:
    """Every event of the given names on the given namespaces, in arrival order."""

    def __init__(self, client, events, namespaces):
        self.queues = {}
        for namespace in namespaces:
            for event in events:
                q = queue.Queue()
                self.queues[(namespace, event)] = q
                client.on(event, self._handler(q), namespace=namespace)

    @staticmethod
    def _handler(q):
        def handle(*args):
            q.put(list(args))

        return handle

    def next(self, event, namespace="/"):
        try:
            return self.queues[(namespace, event)].get(timeout=WAIT)
        except queue.Empty:
            raise Failure(f"no {event!r} on {namespace} within {WAIT} s") from None


def main_and_custom(url, transport):
    client = socketio.Client(reconnection=False)
    recorder = Recorder(client, ["auth", "message-back"], ["/", "/custom"])
    auth = {"token": f"py-{transport}"}
    try:
        client.connect(
            url,
            namespaces=["/", "/custom"],
            transports=[transport],
            auth=auth,
            wait_timeout=WAIT,
        )
        same(client.transport(), transport, "transport")
        same(payload(recorder.next("auth"), 1), [auth], "main auth")
        same(payload(recorder.next("auth", "/custom"), 1), [auth], "custom auth")
        client.emit("message", ("from python", {"n": 1}, [True]))
        same(
            payload(recorder.next("message-back"), 3),
            ["from python", {"n": 1}, [True]],
            "message-back",
        )
        acked = client.call("message-with-ack", ("a", 2), timeout=WAIT)
        same(list(acked), ["a", 2], "ack")
        return {"transport": client.transport(), "namespaces": 2}
    finally:
        client.disconnect()


def relay_room(url):
    room = f"py-room-{os.getpid()}-{time.monotonic_ns()}"
    clients = []
    try:
        recorders = []
        for _ in range(2):
            client = socketio.Client(reconnection=False)
            recorders.append(Recorder(client, ["chat"], ["/relay"]))
            client.connect(url, namespaces=["/relay"], auth={"room": room}, wait_timeout=WAIT)
            clients.append(client)
        clients[0].emit("chat", {"text": "hi"}, namespace="/relay")
        for i, recorder in enumerate(recorders):
            same(payload(recorder.next("chat", "/relay"), 1), [{"text": "hi"}], f"member {i}")
        return {"members": len(clients)}
    finally:
        for client in clients:
            client.disconnect()


def main():
    url = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SIO_URL", "")).rstrip("/")
    if not url.startswith(("http://", "https://")):
        print("usage: main_path.py http://127.0.0.1:PORT", file=sys.stderr)
        return 2
    scenarios = [
        ("python-websocket", lambda: main_and_custom(url, "websocket")),
        ("python-polling", lambda: main_and_custom(url, "polling")),
        ("python-relay-room", lambda: relay_room(url)),
    ]
    failed = 0
    for name, run in scenarios:
        started = time.monotonic()
        line = {"client": CLIENT, "scenario": name}
        try:
            detail = run()
            line.update(ok=True, detail=detail)
        except Exception as error:  # every failure is reported, then the next scenario runs
            failed += 1
            message = str(error) if isinstance(error, Failure) else repr(error)
            line.update(ok=False, error=message)
        line["ms"] = round((time.monotonic() - started) * 1000)
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
