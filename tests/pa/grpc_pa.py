#!/usr/bin/python3
"""A gRPC endorsement service for tests: python3-grpcio serving the project's .proto
files (modules made by `protoc --python_out`), each call forwarded to ftpa's HTTP/JSON
endpoint, so the harness's gRPC client meets a gRPC stack that is not its own while the
service logic stays ftpa's.

    grpc_pa.py --py-dir DIR --ftpa http://127.0.0.1:PORT [--port N] [--tls CERT KEY CA]
               [--fault RPC=KIND[:ARG]]... [--log FILE] [--max-connection-age-ms N]

Prints "grpc_pa: listening on 127.0.0.1:PORT" once serving. Faults, per RPC:
  status:CODE:MESSAGE  answer with that gRPC status (trailers) instead of forwarding
  sleep:SECONDS        wait before forwarding (the log says the deadline left on arrival)
  exit                 the process ends in the middle of the call (stream and connection
                       closed without a status)
--max-connection-age-ms closes each connection (GOAWAY) that old, so clients must connect
anew between calls. Every call is logged as one JSON line: rpc, metadata, deadline left, outcome."""
import argparse
import http.client
import importlib
import json
import os
import sys
import threading
import time
from concurrent import futures
from urllib.parse import urlparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--py-dir", required=True)
    ap.add_argument("--ftpa", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=3, metavar=("CERT", "KEY", "CA"))
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--log")
    ap.add_argument("--max-connection-age-ms", type=int)
    args = ap.parse_args()
    sys.path.insert(0, args.py_dir)
    import grpc
    from google.protobuf import json_format, message_factory
    pa_pb2 = importlib.import_module("pa_pb2")  # generated in the build tree

    service = pa_pb2.DESCRIPTOR.services_by_name["ProvisioningApplianceService"]
    factory = message_factory.MessageFactory()
    faults = {}
    for f in args.fault:
        rpc, _, kind = f.partition("=")
        faults[rpc] = kind
    target = urlparse(args.ftpa)
    local = threading.local()
    log_lock = threading.Lock()
    log = open(args.log, "a", buffering=1) if args.log else None

    def note(entry):
        if log:
            with log_lock:
                log.write(json.dumps(entry) + "\n")

    def forward(rpc, body, headers):
        """POST to ftpa on this thread's kept-alive connection; (status, body)."""
        for attempt in range(2):
            if getattr(local, "conn", None) is None:
                local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                local.conn.request("POST", "/" + service.full_name + "/" + rpc, body, headers)
                resp = local.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, OSError):
                local.conn.close()
                local.conn = None
                if attempt:
                    raise

    def handler(method):
        resp_class = factory.GetPrototype(method.output_type)

        def call(request, context):
            meta = {k: v for k, v in context.invocation_metadata()}
            entry = {"rpc": method.name, "user_id": meta.get("user_id"),
                     "authorization": "authorization" in meta,
                     "deadline_left": context.time_remaining()}
            fault = faults.get(method.name, "")
            kind, _, arg = fault.partition(":")
            if kind == "exit":
                note(dict(entry, outcome="exit"))
                os._exit(3)
            if kind == "sleep":
                note(dict(entry, outcome="sleeping"))  # logged on arrival: the caller may be gone
                time.sleep(float(arg))
            if kind == "status":
                code, _, message = arg.partition(":")
                note(dict(entry, outcome="status %s" % code))
                context.abort(status_code(int(code)), message)
            headers = {"content-type": "application/json"}
            for key in ("authorization", "user_id", "idempotency-key"):
                if key in meta:
                    headers[key] = meta[key]
            body = json_format.MessageToJson(request, preserving_proto_field_name=True)
            status, answer = forward(method.name, body.encode(), headers)
            if status != 200:
                try:
                    err = json.loads(answer)
                    code, message = int(err.get("code", 2)), err.get("message", "")
                except ValueError:
                    code, message = 2, "ftpa said HTTP %d" % status
                note(dict(entry, outcome="status %d" % code))
                context.abort(status_code(code), message)
            note(dict(entry, outcome="ok"))
            return json_format.Parse(answer, resp_class())

        return grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=factory.GetPrototype(method.input_type).FromString,
            response_serializer=lambda m: m.SerializeToString(deterministic=True))

    def status_code(number):
        return next(s for s in grpc.StatusCode if s.value[0] == number)

    handlers = {m.name: handler(m) for m in service.methods}
    options = []
    if args.max_connection_age_ms:
        options = [("grpc.max_connection_age_ms", args.max_connection_age_ms),
                   ("grpc.max_connection_age_grace_ms", 1000)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=options)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),))
    if args.tls:
        cert, key, ca = (open(p, "rb").read() for p in args.tls)
        creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                            require_client_auth=True)
        port = server.add_secure_port("127.0.0.1:%d" % args.port, creds)
    else:
        port = server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    print("grpc_pa: listening on 127.0.0.1:%d" % port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
