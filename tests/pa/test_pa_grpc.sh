#!/bin/sh
# The PA client's native gRPC transport against a gRPC server that is not ours
# (tests/pa/grpc_pa.py: python3-grpcio over the project's .proto files, forwarding to
# ftpa): calls in clear (h2c) and over TLS with client certificates and a pin, metadata,
# error trailers, grpc-timeout, a server that dies mid-call, and an HTTP/1.1 server at a
# grpc:// URL. `ftharness run` end to end over gRPC is test_flow_e2e_grpc.
#   test_pa_grpc.sh FTPA PY_DIR SOURCE_DIR SCRATCH_DIR
set -u
ftpa=$1
py_dir=$2
src=$3
scratch=$4
python=/usr/bin/python3
if ! command -v openssl >/dev/null 2>&1 ||
    ! "$python" -c 'import grpc, google.protobuf, h2' 2>/dev/null; then
    echo "needs the openssl CLI, python3-grpcio, python3-protobuf and python3-h2; skipping"
    exit 77
fi
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$scratch" || exit 1
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT
. "$src/tests/cli/check_lib.sh"
# A failed check shows the end of what the last call printed.
check_call() {
    check "$@" || sed 's/^/     /' out.txt | tail -n 5
}

printf 'grpc-password\n' >pw
"$ftpa" init --config-dir pa --sku sival --no-ext --password-file pw >/dev/null
mkfifo pa-ready
"$ftpa" serve --config-dir pa --db registry.db >pa-ready 2>ftpa.log &
pids="$pids $!"
read -r line <pa-ready
ftpa_url="http://127.0.0.1:$(echo "$line" | sed -n 's/.*:\([0-9]*\) (.*/\1/p')"

# grpc_start NAME [grpc_pa.py args...]: a gRPC service; sets $gport and $gpid.
grpc_start() {
    name=$1
    shift
    rm -f ready
    mkfifo ready
    "$python" "$src/tests/pa/grpc_pa.py" --py-dir "$py_dir" --ftpa "$ftpa_url" \
        --log "$name.calls" "$@" >ready 2>"$name.log" &
    gpid=$!
    pids="$pids $gpid"
    read -r line <ready
    gport=${line##*:}
}

# call URL [ftpa call args...] RPC JSON: `ftpa call`, output in out.txt; sets $status.
call() {
    url=$1
    shift
    status=0
    "$ftpa" call --url "$url" --user-id grpc-test/s0 "$@" >out.txt 2>&1 || status=$?
}
in_out() { grep -q "$1" out.txt; }
json_field() { "$python" -c "import json,sys; print(json.load(open('out.txt'))$1)"; }

init='{"sku":"sival","sku_auth":"grpc-password"}'

grpc_start plain
url=grpc://127.0.0.1:$gport
call "$url" InitSession "$init"
check_call "InitSession over grpc:// (h2c) answers a session token" \
    sh -c "[ $status -eq 0 ] && grep -q sku_session_token out.txt"
token=$(json_field "['sku_session_token']" 2>/dev/null)
check_call "  ... the server saw user_id as metadata and a deadline of about 10 s" \
    "$python" -c "import json; e=[json.loads(l) for l in open('plain.calls')][-1]; \
assert e['user_id']=='grpc-test/s0' and 9 < e['deadline_left'] <= 10, e"
call "$url" --token "$token" GetCaSubjectKeys '{"sku":"sival","cert_labels":["UDS"]}'
check_call "GetCaSubjectKeys with the token as authorization metadata" \
    sh -c "[ $status -eq 0 ] && grep -q key_ids out.txt"
check_call "  ... forwarded with the token" \
    "$python" -c "import json; e=[json.loads(l) for l in open('plain.calls')][-1]; \
assert e['authorization'] and e['outcome']=='ok', e"
call "$url" GetCaSubjectKeys '{"sku":"sival","cert_labels":["UDS"]}'
check_call "without a token: UNAUTHENTICATED from the trailers, exit 3" \
    sh -c "[ $status -eq 3 ] && grep -q 'gRPC status 16' out.txt && grep -q UNAUTHENTICATED out.txt"
call "$url" InitSession '{"sku":"sival","sku_auth":"wrong"}'
check_call "a wrong SKU password: the server's status and message" \
    sh -c "[ $status -eq 3 ] && grep -q 'server said' out.txt"
call "$url" InitSession '{"sku":"sival","no_such_field":1}'
check_call "a request the schema does not have is refused before sending" \
    sh -c "[ $status -eq 1 ] && grep -q no_such_field out.txt"
call "$url" --repeat 20 InitSession "$init"
check_call "20 calls with one client share one HTTP/2 connection" \
    sh -c "[ $status -eq 0 ] && grep -q '20 calls, 1 connections' out.txt"
kill "$gpid"

# A server that closes connections 1 s old: each call after an idle 1.5 s finds its
# connection gone and connects anew (libcurl 7.88's h2c reuse workaround, pa_client.c).
grpc_start aging --max-connection-age-ms 1000
call "grpc://127.0.0.1:$gport" --repeat 3 --interval-ms 1500 InitSession "$init"
check_call "calls after the server closed the idle connection connect anew and succeed" \
    sh -c "[ $status -eq 0 ] && grep -q '3 calls' out.txt"
kill "$gpid"

check_mark=$(printf '\342\234\223')
grpc_start faults --fault "CloseSession=status:9:session gone: 100% $check_mark" \
    --fault "GetOwnerFwBootMessage=sleep:3" --fault "GetCaCerts=exit"
url=grpc://127.0.0.1:$gport
call "$url" CloseSession '{}'
check_call "an error status with a percent-encoded grpc-message, decoded" \
    sh -c "[ $status -eq 3 ] && grep -q 'FAILED_PRECONDITION: session gone: 100% $check_mark' out.txt"
start=$(date +%s%N)
call "$url" --timeout-ms 500 GetOwnerFwBootMessage '{"sku":"sival"}'
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check_call "a call past its deadline fails as a timeout within the deadline (${elapsed_ms} ms)" \
    sh -c "[ $status -ne 0 ] && [ $elapsed_ms -lt 2500 ] && grep -qi 'timed out\|DEADLINE_EXCEEDED' out.txt"
check_call "  ... and the server got grpc-timeout (deadline left on arrival <= 0.5 s)" \
    "$python" -c "import json; e=[json.loads(l) for l in open('faults.calls') if 'GetOwner' in l][0]; \
assert 0 < e['deadline_left'] <= 0.5, e"
call "$url" GetCaCerts '{"sku":"sival"}'
check_call "a server that dies mid-call: a connection failure, not an answer" \
    sh -c "[ $status -eq 1 ] && grep -q 'broken\|closed\|stream' out.txt"
call "$url" InitSession "$init"
check_call "  ... and the next call says the service is gone" \
    sh -c "[ $status -eq 1 ] && grep -q 'connection refused' out.txt"

call "grpc://${ftpa_url#http://}" InitSession "$init"
check_call "an HTTP/1.1 server at a grpc:// URL is not taken for gRPC" \
    sh -c "[ $status -ne 0 ] && ! grep -q sku_session_token out.txt"

# What no correct gRPC server sends, on the wire (tests/pa/h2_fake.py, python3-h2): the
# answer is picked by the user_id.
rm -f ready
mkfifo ready
"$python" "$src/tests/pa/h2_fake.py" >ready 2>h2_fake.log &
pids="$pids $!"
read -r line <ready
h2url=grpc://127.0.0.1:${line##*:}
# fake CASE EXIT TEXT: `ftpa call` of InitSession answered as CASE exits EXIT saying TEXT
fake() {
    status=0
    "$ftpa" call --url "$h2url" --user-id "fake/$1" InitSession '{"sku":"sival"}' \
        >out.txt 2>&1 || status=$?
    check_call "h2 answer '$1': exit $2, \"$3\"" sh -c "[ $status -eq $2 ] && grep -q '$3' out.txt"
}
fake ok 0 '"sku_session_token":"tok"'
fake trailers-only 3 "gRPC status 5 (server said: NOT_FOUND: no such SKU)"
fake http-503 3 "HTTP 503 .*no grpc-status; taken as UNAVAILABLE"
fake http-404 3 "HTTP 404 .*taken as UNIMPLEMENTED"
fake no-status 1 "stream ended without grpc-status"
fake json 1 "content-type is not application/grpc"
fake compressed 1 "bad gRPC answer .*compressed"
fake two 1 "bad gRPC answer .*after its 5-byte message"
fake short 1 "bad gRPC answer .*cut short: 3 of 100 bytes"
fake bad-status 3 "UNKNOWN: grpc-status is not a code"
fake reset 1 "protocol error"

# grpcs://: the server requires a client certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 1 -subj /CN=test-ca 2>/dev/null
for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key \
        -out $who.csr -subj /CN=$who 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
    openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile ext.cnf -out $who.pem 2>/dev/null
done
pin_of() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64; }
grpc_start tls --tls server.pem server.key ca.pem
url=grpcs://127.0.0.1:$gport
call "$url" --ca ca.pem --cert client.pem --key client.key InitSession "$init"
check_call "grpcs:// with a client certificate" sh -c "[ $status -eq 0 ] && grep -q sku_session_token out.txt"
call "$url" --ca ca.pem --cert client.pem --key client.key --pin "sha256//$(pin_of server.pem)" \
    InitSession "$init"
check_call "grpcs:// with the server's pin" sh -c "[ $status -eq 0 ]"
call "$url" --ca ca.pem --cert client.pem --key client.key --pin "sha256//$(pin_of client.pem)" \
    InitSession "$init"
check_call "grpcs:// with another key's pin is refused" sh -c "[ $status -eq 1 ] && grep -q pin out.txt"
call "$url" --ca ca.pem InitSession "$init"
check_call "grpcs:// without a client certificate is refused as TLS" \
    sh -c "[ $status -eq 1 ] && grep -q TLS out.txt"
call "grpc://127.0.0.1:$gport" --ca ca.pem InitSession "$init"
check_call "TLS options with grpc:// are refused (would be clear text)" \
    sh -c "[ $status -ne 0 ] && grep -q 'in clear' out.txt"

finish
