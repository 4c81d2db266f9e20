# Shared by the `ftharness run` end-to-end scripts (tests/flow/test_flow_e2e.sh,
# tests/usb/test_flow_ftdi.sh); sourced after they set $ftpa, $work and $skus.
# Provides: a fresh scratch directory as the working directory, ok/bad counters,
# service_init/service_start (ftpa with every shipped SKU), field, check_records, finish.
python=/usr/bin/python3
schema=$(dirname "$skus")/docs/record.schema.json
if [ ! -x "$python" ] || ! "$python" -c 'import jsonschema' 2>/dev/null; then
    echo "needs /usr/bin/python3 with jsonschema (python3-jsonschema); skipping"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
# Device records of every run (ftharness --record-dir); they hold wrapped RMA seeds.
mkdir -m 0700 journal
FTHARNESS_RECORD_DIR="$work/journal"
export FTHARNESS_RECORD_DIR
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT
passed=0
failed=0
ok() {
    passed=$((passed + 1))
    echo "ok   $*"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}

# service_init: the SKU password in ./pw and a development PKI for every shipped SKU.
service_init() {
    printf 'e2e-password\n' >pw
    chmod 600 pw
    for sku in sival sival_v1 sival_rc17 sival_v1_master sival_devseed; do
        "$ftpa" init --config-dir pa --sku $sku --no-ext --password-file pw \
            --boot-message "Bare metal PASS!" >/dev/null
    done
    "$ftpa" init --config-dir pa --sku sival_inject --no-ext --password-file pw \
        --boot-message "PASS!" >/dev/null
    "$ftpa" init --config-dir pa --sku emulation_tpm --hash-order "UDS,CDI_0,CDI_1,TPM EK" \
        --password-file pw --boot-message "Bare metal PASS!" >/dev/null
}

# service_start: ftpa serving ./pa on a free loopback port; sets $port and $pa_url, the
# URL the harness is given. With FT_PA_TRANSPORT=grpc the harness speaks native gRPC to
# tests/pa/grpc_pa.py (python3-grpcio over the project's .proto files, Python modules in
# $FT_PA_PY_DIR), which forwards each call to ftpa.
service_start() {
    mkfifo pa-ready
    "$ftpa" serve --config-dir pa --db registry.db >pa-ready 2>ftpa.log &
    pids="$pids $!"
    read -r line <pa-ready
    port=$(echo "$line" | sed -n 's/.*:\([0-9]*\) (.*/\1/p')
    pa_url="http://127.0.0.1:$port"
    if [ "${FT_PA_TRANSPORT:-http}" = grpc ]; then
        grpc_service_start
    fi
}

grpc_service_start() {
    if ! "$python" -c 'import grpc, google.protobuf' 2>/dev/null; then
        echo "needs python3-grpcio and python3-protobuf for the gRPC transport; skipping"
        exit 77
    fi
    mkfifo grpc-ready
    "$python" "$(dirname "$skus")/tests/pa/grpc_pa.py" --py-dir "$FT_PA_PY_DIR" \
        --ftpa "$pa_url" --log grpc-calls.log >grpc-ready 2>grpc_pa.log &
    pids="$pids $!"
    read -r line <grpc-ready
    case $line in
    "grpc_pa: listening on "*) pa_url="grpc://${line#grpc_pa: listening on }" ;;
    *)
        echo "the gRPC service did not start: $(cat grpc_pa.log)"
        exit 1
        ;;
    esac
}

field() { # field NAME: the value of the record's error field NAME (step, code, message)
    "$python" -c "import json,sys; r=json.load(open('$record')); print(r.get('error',{}).get('$1',''))"
}

# check_records MIN: every record-*.json here, PASS and FAIL alike, validates against the
# schema, carries the version `ftharness --version` prints, and there are at least MIN.
check_records() {
    version=$("$ftharness" --version | sed -n 's/^ftharness //p')
    if "$python" - "$schema" "$1" "$version" record-*.json <<'PY'; then
import json, sys
import jsonschema
validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
version = sys.argv[3]
records = sys.argv[4:]
bad = 0
for path in records:
    record = json.load(open(path))
    for e in validator.iter_errors(record):
        print("%s: %s at %s" % (path, e.message, list(e.absolute_path)))
        bad += 1
    if not version or record.get("harness_version") != version:
        print("%s: harness_version %r, ftharness --version says %r"
              % (path, record.get("harness_version"), version))
        bad += 1
print("%d records checked, %d errors" % (len(records), bad))
sys.exit(1 if bad or len(records) < int(sys.argv[2]) else 0)
PY
        ok "every device record validates against docs/record.schema.json"
    else
        bad "records against the schema"
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
