"""A tester program's client of ftharnessd (docs/control-api.md), standard library only."""
import json
import socket


def provision(site, sku, request_id=None, din=None, path="/run/ftharness/control.sock"):
    """Personalizes the DUT in `site`; returns the result event (raises on a refusal)."""
    request = {"cmd": "provision", "id": request_id or site, "site": site, "sku": sku}
    if request_id:
        request["request_id"] = request_id  # a retry after a lost connection never re-runs
    if din:
        request["din"] = din  # {"year": .., "week": .., "lot": .., "wafer": .., "x": .., "y": ..}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(json.dumps(request).encode() + b"\n")
        for line in s.makefile("r", encoding="utf-8"):
            event = json.loads(line)
            if event["event"] == "error":
                raise RuntimeError(event["error"])
            if event["event"] == "progress":
                print("  %-24s %8.1f ms" % (event["step"], event["ms"]))
            if event["event"] == "result":
                return event
    raise ConnectionError("ftharnessd closed the connection before the result")


if __name__ == "__main__":
    result = provision("s0", "sival", request_id="lot42-x3-y7", din={"lot": 42, "x": 3, "y": 7})
    print(result["status"], result["class"], result["device_id"], result["error"])
