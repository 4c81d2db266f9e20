#!/usr/bin/python3
"""pa_msg.c's hand-coded PA API tables held against the project's .proto files (proto/),
through code that is not the project's: python3-protobuf and protoc read the .proto files,
the C side is src/pa/pa_msg.c and pa_proto.c.

usage: test_pa_proto_schema.py --corpus-tool PA_PB_CORPUS --py-dir DIR --proto-dir DIR
                               --protoc PROTOC --work DIR

pa_pb_corpus (tests/pa/pa_pb_corpus.c) writes pa_msg.c's tables and a corpus of every
message in three variants, as pa_msg_to_json and pa_proto_encode write them, and checks
protobuf-c's unpack and pack of each itself. Then, here:
  schema  every message, field (order, name, number, type, label, oneof, referenced type),
          enum value and RPC of pa_msg.c is the .proto files' and nothing is missing;
  JSON    json_format.Parse of pa_msg's JSON (unknown fields rejected) then MessageToJson
          with proto field names gives the same JSON value, and pa_msg's keys are in
          field-number order;
  binary  pa_proto_encode's bytes equal SerializeToString(deterministic=True) of that
          message, parse back to it, and `protoc --decode` reads them with no field it
          does not know.
Exit 0, 1 naming every problem, 77 when python3-protobuf, protoc or the generated modules
are missing."""
import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys

KINDS = {}  # FieldDescriptor.TYPE_* -> pa_msg's kind name, filled once protobuf is loaded


def skip(why):
    print("test_pa_proto_schema: %s: skipping" % why)
    sys.exit(77)


def load_protobuf(py_dir):
    try:
        from google.protobuf import descriptor, json_format
    except ImportError:
        skip("python3-protobuf is not installed")
    if not os.path.exists(os.path.join(py_dir, "pa_pb2.py")):
        skip("no generated modules in %s (protoc --python_out)" % py_dir)
    sys.path.insert(0, py_dir)
    pa_pb2 = importlib.import_module("pa_pb2")
    record_pb2 = importlib.import_module("ot.registry_record_pb2")
    fd = descriptor.FieldDescriptor
    KINDS.update({fd.TYPE_STRING: "string", fd.TYPE_BYTES: "bytes", fd.TYPE_BOOL: "bool",
                  fd.TYPE_UINT32: "uint32", fd.TYPE_FIXED32: "fixed32",
                  fd.TYPE_UINT64: "uint64", fd.TYPE_FIXED64: "fixed64",
                  fd.TYPE_ENUM: "enum", fd.TYPE_MESSAGE: "message"})
    return json_format, [pa_pb2.DESCRIPTOR, record_pb2.DESCRIPTOR]


def proto_types(files):
    """Every message and enum of `files` and their imports, by full name."""
    msgs, enums, seen = {}, {}, set()
    todo = list(files)
    while todo:
        f = todo.pop()
        if f.name in seen:
            continue
        seen.add(f.name)
        todo.extend(f.dependencies)
        msgs.update((m.full_name, m) for m in f.message_types_by_name.values())
        enums.update((e.full_name, e) for e in f.enum_types_by_name.values())
    return msgs, enums


def message_class(desc):
    from google.protobuf import message_factory
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    from google.protobuf import symbol_database
    return symbol_database.Default().GetSymbol(desc.full_name)


def check_schema(schema, msgs, enums, service, problems):
    c_msgs = {m["name"]: m for m in schema["messages"]}
    for name in sorted(set(msgs) - set(c_msgs)):
        problems.append("schema: %s is in proto/ but not in pa_msg.c" % name)
    for name, cm in c_msgs.items():
        pm = msgs.get(name)
        if pm is None:
            problems.append("schema: pa_msg.c has %s, proto/ does not" % name)
            continue
        want = [field_facts(f) for f in sorted(pm.fields, key=lambda f: f.number)]
        got = [dict(f, repeated=bool(f["repeated"])) for f in cm["fields"]]
        if [w["name"] for w in want] != [g["name"] for g in got]:
            problems.append("schema: %s fields %s in pa_msg.c, %s in proto/ (number order)"
                            % (name, [g["name"] for g in got], [w["name"] for w in want]))
        by_name = {w["name"]: w for w in want}
        for g in got:
            w = by_name.get(g["name"])
            if w is None:
                continue
            for key in ("number", "kind", "repeated", "oneof", "type"):
                if g.get(key) != w[key]:
                    problems.append("schema: %s.%s: %s is %r in pa_msg.c, %r in proto/"
                                    % (name, g["name"], key, g.get(key), w[key]))
    c_enums = {e["name"]: e for e in schema["enums"]}
    for name in sorted(set(enums) - set(c_enums)):
        problems.append("schema: enum %s is in proto/ but pa_pb_corpus lists no table" % name)
    for name, ce in c_enums.items():
        pe = enums.get(name)
        want = [[v.name, v.number] for v in pe.values] if pe else None
        if ce["values"] != want:
            problems.append("schema: enum %s is %s in pa_msg.c, %s in proto/"
                            % (name, ce["values"], want))
    want = [{"name": m.name, "path": "/%s/%s" % (service.full_name, m.name),
             "request": m.input_type.full_name, "response": m.output_type.full_name}
            for m in service.methods]
    if schema["rpcs"] != want:
        problems.append("schema: pa_rpc_list() is %s, the service in proto/pa.proto %s"
                        % (schema["rpcs"], want))


def field_facts(f):
    from google.protobuf.descriptor import FieldDescriptor as FD
    ref = f.enum_type if f.type == FD.TYPE_ENUM else f.message_type
    return {"name": f.name, "number": f.number, "kind": KINDS.get(f.type, "type %d" % f.type),
            "repeated": f.label == FD.LABEL_REPEATED,
            "oneof": f.containing_oneof.name if f.containing_oneof else None,
            "type": ref.full_name if ref is not None else None}


class Pairs(list):
    """A JSON object as its (key, value) pairs in text order."""


def key_order(obj, desc, path, problems):
    """pa_msg writes keys in field-number order (as pa_pbjson and json_format do)."""
    order = [f.name for f in sorted(desc.fields, key=lambda f: f.number)]
    keys = [k for k, _ in obj]
    known = [k for k in keys if k in order]
    if known != sorted(known, key=order.index):
        problems.append("%s: keys %s are not in field-number order %s" % (path, keys, order))
    for k, v in obj:
        f = desc.fields_by_name.get(k)
        if f is None or f.message_type is None:
            continue
        for i, elem in enumerate(v if isinstance(v, list) and not isinstance(v, Pairs) else [v]):
            key_order(elem, f.message_type, "%s.%s[%d]" % (path, k, i), problems)


def first_difference(a, b):
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def check_entry(work, name, variant, desc, json_format, protoc, proto_dir, proto_files, problems):
    label = "%s.%s" % (name, variant)
    text = open(os.path.join(work, label + ".json"), encoding="utf-8").read()
    c_bin = open(os.path.join(work, label + ".bin"), "rb").read()
    cls = message_class(desc)

    msg = cls()
    try:
        json_format.Parse(text, msg, ignore_unknown_fields=False)
    except json_format.ParseError as e:
        problems.append("%s: python3-protobuf does not read pa_msg's JSON: %s" % (label, e))
        return
    back = json_format.MessageToJson(msg, preserving_proto_field_name=True)
    if json.loads(back) != json.loads(text):
        problems.append("%s: JSON differs\n  pa_msg:   %s\n  protobuf: %s"
                        % (label, text[:600], json.dumps(json.loads(back))[:600]))
    key_order(json.loads(text, object_pairs_hook=Pairs), desc, label, problems)

    py_bin = msg.SerializeToString(deterministic=True)
    if py_bin != c_bin:
        at = first_difference(py_bin, c_bin)
        problems.append("%s: protobuf bytes differ at byte %d (pa_proto %d bytes, python %d): "
                        "pa_proto ...%s, python ...%s" % (label, at, len(c_bin), len(py_bin),
                                                          c_bin[at:at + 12].hex(),
                                                          py_bin[at:at + 12].hex()))
    parsed = cls()
    parsed.ParseFromString(c_bin)
    if parsed != msg:
        problems.append("%s: python3-protobuf parses pa_proto's bytes to another message" % label)

    r = subprocess.run([protoc, "--decode=" + name, "-I", proto_dir] + proto_files,
                       input=c_bin, capture_output=True)
    if r.returncode != 0:
        problems.append("%s: protoc --decode refuses pa_proto's bytes: %s"
                        % (label, r.stderr.decode(errors="replace").strip()))
    else:
        unknown = [line.strip() for line in r.stdout.decode(errors="replace").splitlines()
                   if re.match(r"\s*\d+\s*[:{]", line)]
        if unknown:
            problems.append("%s: protoc --decode finds fields proto/ does not have: %s"
                            % (label, unknown[:3]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus-tool", required=True)
    ap.add_argument("--py-dir", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--protoc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    if not os.path.exists(args.protoc):
        skip("%s is not installed (protobuf-compiler)" % args.protoc)
    json_format, files = load_protobuf(args.py_dir)
    msgs, enums = proto_types(files)
    service = files[0].services_by_name["ProvisioningApplianceService"]

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    problems = []
    r = subprocess.run([args.corpus_tool, args.work], capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        problems.append("pa_pb_corpus exited with %d (its FAIL lines above)" % r.returncode)
    if not os.path.exists(os.path.join(args.work, "corpus.txt")):
        print("test_pa_proto_schema: pa_pb_corpus wrote no corpus")
        return 1

    with open(os.path.join(args.work, "schema.json")) as f:
        check_schema(json.load(f), msgs, enums, service, problems)

    proto_files = [f.name for f in files]
    entries = [line.split() for line in open(os.path.join(args.work, "corpus.txt"))]
    covered = set()
    for name, variant in entries:
        if name not in msgs:
            continue  # reported by the schema check
        covered.add(name)
        check_entry(args.work, name, variant, msgs[name], json_format, args.protoc,
                    args.proto_dir, proto_files, problems)
    rpc_msgs = {m.input_type.full_name for m in service.methods}
    rpc_msgs |= {m.output_type.full_name for m in service.methods}
    for name in sorted((rpc_msgs | {"ot.DeviceData", "ot.RegistryRecord"}) - covered):
        problems.append("corpus: no message %s" % name)

    for p in problems:
        print("FAIL " + p)
    print("test_pa_proto_schema: %d messages, %d corpus entries, %d problems"
          % (len(covered), len(entries), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
