"""python-plexapi's AlertListener, driven by `cargo run --release --example bench -- --python`.

Protocol on stdout/stdin (the bench is the other side):
  -> "connected"            once the listener's WebSocket is open
  -> "done <ns>"            wall-clock time (ns since the epoch) of the last of <count> alerts
  <- "stop"                 the server now answers nothing: measure stop()
  -> "stops <ms> <ms> ..."  stop() and thread end, on a silent peer, five times
"""
import sys
import threading
import time

from plexapi.server import PlexServer

STOPS = 5


def wait_connected(listener, limit=30.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ws = listener._ws
        if ws is not None and ws.sock is not None and ws.sock.connected:
            return
        time.sleep(0.001)
    raise SystemExit("python-plexapi did not connect")


def main():
    url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    plex = PlexServer(url, token)

    received = 0
    last = [0]
    done = threading.Event()

    def callback(data):
        nonlocal received
        received += 1
        if received == count:
            last[0] = time.time_ns()
            done.set()

    listener = plex.startAlertListener(callback=callback)
    wait_connected(listener)
    print("connected", flush=True)
    if not done.wait(600):
        raise SystemExit(f"python-plexapi received {received} of {count}")
    print("done", last[0], flush=True)
    listener.stop()
    listener.join(30)

    sys.stdin.readline()  # "stop": the server is now silent and never answers
    stops = []
    for _ in range(STOPS):
        silent = plex.startAlertListener(callback=lambda data: None)
        wait_connected(silent)
        started = time.perf_counter()
        silent.stop()
        silent.join(60)
        stops.append((time.perf_counter() - started) * 1e3)
    print("stops", " ".join(f"{s:.1f}" for s in stops), flush=True)


if __name__ == "__main__":
    main()
