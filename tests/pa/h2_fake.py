#!/usr/bin/python3
"""An HTTP/2 (h2c) server that answers gRPC calls wrongly on purpose, with python3-h2, so
the client's handling of what no correct gRPC server sends is tested on the wire. The
answer is picked by the call's user_id metadata, "<anything>/<case>":

  ok             a correct InitSessionResponse {sku_session_token: "tok"}
  trailers-only  :status 200 and grpc-status 5 / grpc-message in the headers, no body
  http-503       :status 503, no grpc-status (a proxy in the way)
  http-404       :status 404, no grpc-status
  no-status      a message and no trailers at all (END_STREAM on the data)
  json           grpc-status 0 but content-type application/json
  compressed     a message with the compressed flag set
  two            two messages
  short          a prefix announcing 100 bytes and 3 of them
  bad-status     grpc-status "abc"
  reset          RST_STREAM instead of an answer

Prints "h2_fake: listening on 127.0.0.1:PORT" once serving."""
import socket
import struct
import sys
import threading

import h2.config
import h2.connection
import h2.events

MESSAGE = b"\x0a\x03tok"  # InitSessionResponse.sku_session_token = "tok"


def frame(payload, flag=0):
    return bytes([flag]) + struct.pack(">I", len(payload)) + payload


def answer(conn, stream, case):
    grpc = [(":status", "200"), ("content-type", "application/grpc")]
    ok_trailers = [("grpc-status", "0")]
    if case == "ok":
        conn.send_headers(stream, grpc)
        conn.send_data(stream, frame(MESSAGE))
        conn.send_headers(stream, ok_trailers, end_stream=True)
    elif case == "trailers-only":
        conn.send_headers(stream, grpc + [("grpc-status", "5"),
                                          ("grpc-message", "no%20such%20SKU")], end_stream=True)
    elif case.startswith("http-"):
        conn.send_headers(stream, [(":status", case[5:]), ("content-type", "text/plain")])
        conn.send_data(stream, b"upstream unavailable", end_stream=True)
    elif case == "no-status":
        conn.send_headers(stream, grpc)
        conn.send_data(stream, frame(MESSAGE), end_stream=True)
    elif case == "json":
        conn.send_headers(stream, [(":status", "200"), ("content-type", "application/json")])
        conn.send_data(stream, frame(MESSAGE))
        conn.send_headers(stream, ok_trailers, end_stream=True)
    elif case in ("compressed", "two", "short"):
        body = {"compressed": frame(MESSAGE, 1), "two": frame(MESSAGE) * 2,
                "short": frame(b"x" * 100)[:8]}[case]
        conn.send_headers(stream, grpc)
        conn.send_data(stream, body)
        conn.send_headers(stream, ok_trailers, end_stream=True)
    elif case == "bad-status":
        conn.send_headers(stream, grpc)
        conn.send_data(stream, frame(MESSAGE))
        conn.send_headers(stream, [("grpc-status", "abc")], end_stream=True)
    else:  # reset
        conn.reset_stream(stream)


def serve(sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    users = {}
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    users[event.stream_id] = dict(event.headers).get(b"user_id", b"x/ok")
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    case = users.pop(event.stream_id).decode().rsplit("/", 1)[-1]
                    answer(conn, event.stream_id, case)
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError):
        pass
    finally:
        sock.close()


def main():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print("h2_fake: listening on 127.0.0.1:%d" % listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
