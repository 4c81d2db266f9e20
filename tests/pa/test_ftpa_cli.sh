#!/bin/sh
# ftpa as an operator meets it: `ftpa init`, `ftpa serve` over HTTP and HTTPS with
# required client certificates, requests made with the curl CLI, `ftpa export`, device IDs
# in the registry's form, SKU files reloaded on SIGHUP.
#   test_ftpa_cli.sh FTPA SCRATCH_DIR
set -u
ftpa=$1
scratch=$2
for tool in curl openssl; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "$tool is not installed; skipping"
        exit 77
    fi
done
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$scratch" || exit 1
# Modes must not depend on the operator's umask: the most permissive one.
umask 000
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT
passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
    what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   $what"
    else
        failed=$((failed + 1))
        echo "FAIL $what"
    fi
}

# Starts `ftpa serve ARGS` and sets $port once it listens (its first stdout line).
start_ftpa() {
    rm -f ready
    mkfifo ready
    "$ftpa" serve "$@" >ready 2>>serve.log &
    pids="$pids $!"
    read -r line <ready
    port=$(echo "$line" | sed -n 's/.*:\([0-9]*\) (.*/\1/p')
    [ -n "$port" ]
}

# Waits for a line of serve.log matching PATTERN, from line FROM on, for at most 10 s:
# tail -f follows the file, so nothing sleeps and nothing is missed.
wait_log() { # wait_log FROM PATTERN
    timeout 10 sh -c 'tail -n +"$1" -f serve.log | grep -q -m1 -e "$2"' sh "$1" "$2"
}
next_log_line() { echo $(($(wc -l <serve.log) + 1)); }

printf 'test_password\n' >pw
check "ftpa init writes a SKU configuration" "$ftpa" init --config-dir cfg --sku sival --no-ext --password-file pw
check "private keys are mode 0600" test "$(stat -c %a cfg/sival/keys/dice-ica.key.pem)" = 600
check "the SKU file is mode 0600 under umask 000" test "$(stat -c %a cfg/sku_sival.json)" = 600
check "the auth file is mode 0600 under umask 000" test "$(stat -c %a cfg/sku_auth.json)" = 600
check "a second init of the SKU is refused" sh -c \
    "! '$ftpa' init --config-dir cfg --sku sival --no-ext --password-file pw 2>init2.err"
check "  ... saying it is configured and how to force it" grep -q "already configured.*--force" init2.err
check "a SKU name outside [a-z0-9_] is refused" sh -c \
    "! '$ftpa' init --config-dir cfg --sku 'bad name!' --no-ext --password-file pw 2>/dev/null"
check "the dice ICA chains to the root" openssl verify -CAfile cfg/sival/ca/root.pem cfg/sival/ca/dice-ica.pem
check "ftpa init rejects a missing --sku" sh -c "! '$ftpa' init --config-dir cfg 2>/dev/null"

printf 'reader-token-0123456789\n' >reader.token
check "ftpa serve starts over HTTP" start_ftpa --config-dir cfg --db reg.db --max-body 4096 \
    --reader-token-file reader.token
check "the registry database is mode 0600 under umask 000" test "$(stat -c %a reg.db)" = 600
url="http://127.0.0.1:$port/pa.ProvisioningApplianceService"
json='Content-Type: application/json'
code() { # code EXPECTED_STATUS CURL_ARGS...  (response body in out.json)
    want=$1
    shift
    got=$(curl -s -o out.json -w '%{http_code}' "$@")
    [ "$got" = "$want" ] || { echo "  HTTP $got, expected $want: $(cat out.json)"; return 1; }
}
check "InitSession with the SKU password" code 200 -H "$json" -H 'user_id: tester/1' \
    -d '{"sku":"sival","sku_auth":"test_password"}' "$url/InitSession"
token=$(sed -n 's/.*"sku_session_token":"\([A-Za-z0-9]*\)".*/\1/p' out.json)
check "the session token is 32 characters" test ${#token} -eq 32
check "GetCaCerts with the token" code 200 -H "$json" -H 'user_id: tester/1' \
    -H "authorization: $token" -d '{"sku":"sival","cert_labels":["root","dice"]}' "$url/GetCaCerts"
check "GetCaCerts without a token: 401" code 401 -H "$json" -H 'user_id: tester/1' \
    -d '{"sku":"sival","cert_labels":["root"]}' "$url/GetCaCerts"
check "the error body is {code, message}" grep -q '"code":16,"message":' out.json
check "a wrong SKU password: 401" code 401 -H "$json" -d '{"sku":"sival","sku_auth":"x"}' \
    "$url/InitSession"
check "an unknown field: 400 naming it" code 400 -H "$json" -H 'user_id: tester/1' \
    -H "authorization: $token" -d '{"sku":"sival","colour":"red"}' "$url/GetOwnerFwBootMessage"
check "  ... and the message names the field" grep -q colour out.json
check "malformed JSON: 400" code 400 -H "$json" -d '{"sku":' "$url/InitSession"
check "wrong content type: 400" code 400 -H 'Content-Type: text/plain' -d '{}' "$url/InitSession"
head -c 5000 /dev/zero | tr '\0' ' ' >big.json
check "a body over --max-body: 413" code 413 -H "$json" --data-binary @big.json "$url/InitSession"
check "an unknown RPC: 501" code 501 -H "$json" -H 'user_id: tester/1' \
    -H "authorization: $token" -d '{}' "$url/Frobnicate"
reader='authorization: Bearer reader-token-0123456789'
# Device IDs in the registry's form (upstream DeviceIdToHexString), as the record shows them.
unregistered=0x00005653000000004156495300000001000000000012345607042125000240ff
check "an unregistered device: 404" code 404 -H "$reader" \
    "http://127.0.0.1:$port/ftpa/v1/devices/$unregistered"
check "a device ID in another form: 400" code 400 -H "$reader" \
    "http://127.0.0.1:$port/ftpa/v1/devices/0100000053495641000000005356000000000000001234560704212500024001"
check "  ... naming the registry's form" grep -q "not in the registry's form: .*0x.* and 64 hex digits" out.json
check "the registry export is empty" code 200 -H "$reader" "http://127.0.0.1:$port/ftpa/v1/registry"
check "the registry without the reader token: 401" code 401 "http://127.0.0.1:$port/ftpa/v1/registry"
check "a device without the reader token: 401" code 401 \
    "http://127.0.0.1:$port/ftpa/v1/devices/0x00"
check "a session token is not a reader token: 401" code 401 -H "authorization: Bearer $token" \
    "http://127.0.0.1:$port/ftpa/v1/registry"
check "ftpa export reads the database" sh -c "'$ftpa' export --db reg.db 2>&1 | grep -q '0 records'"

# SIGHUP reloads the SKU files: a SKU set up while ftpa runs serves without a restart, and
# a bad file changes nothing, saying which file and key. The session opened above lives on.
http_pid=${pids##* }
check "ftpa init of a new SKU while ftpa serves" "$ftpa" init --config-dir cfg --sku fresh --no-ext \
    --password-file pw
check "the new SKU is unknown before SIGHUP: 404" code 404 -H "$json" -H 'user_id: tester/2' \
    -d '{"sku":"fresh","sku_auth":"test_password"}' "$url/InitSession"
from=$(next_log_line)
kill -HUP "$http_pid"
check "SIGHUP: the log says the configuration was reloaded" wait_log "$from" \
    "configuration reloaded: SKUs .*fresh.* (generation 2)"
check "the new SKU serves after SIGHUP" code 200 -H "$json" -H 'user_id: tester/2' \
    -d '{"sku":"fresh","sku_auth":"test_password"}' "$url/InitSession"
check "the session opened before the reload goes on" code 200 -H "$json" -H 'user_id: tester/1' \
    -H "authorization: $token" -d '{"sku":"sival","cert_labels":["root"]}' "$url/GetCaCerts"
cp -p cfg/sku_sival.json sku_sival.good
sed -i 's/"RsaOaep"/"RsaOops"/' cfg/sku_sival.json
from=$(next_log_line)
kill -HUP "$http_pid"
check "SIGHUP with a bad SKU file: the reload is refused" wait_log "$from" "reload refused: "
check "  ... naming the file and the key" sh -c "tail -n +$from serve.log | grep 'reload refused' |
    grep -q 'cfg/sku_sival.json: attributes.WrappingMechanism: must be RsaOaep or RsaPkcs'"
check "  ... and keeping generation 2 in force" sh -c \
    "tail -n +$from serve.log | grep -q 'generation 2 stays in force'"
check "the old configuration still serves the open session" code 200 -H "$json" \
    -H 'user_id: tester/1' -H "authorization: $token" \
    -d '{"sku":"sival","cert_labels":["root"]}' "$url/GetCaCerts"
check "  ... and new sessions of the SKU whose file is bad" code 200 -H "$json" \
    -H 'user_id: tester/3' -d '{"sku":"sival","sku_auth":"test_password"}' "$url/InitSession"
mv sku_sival.good cfg/sku_sival.json
check "ftpa is still running after both reloads" kill -0 "$http_pid"
check "the log holds no token or password" sh -c "! grep -q -e '$token' -e test_password serve.log"

# Graceful stop: SIGTERM ends the service with status 0 after requests in flight.
kill -TERM "$http_pid"
stop_status=0
wait "$http_pid" || stop_status=$?
check "SIGTERM stops ftpa with status 0" test "$stop_status" -eq 0
check "  ... and it says so in the log" grep -q "ftpa: stopping" serve.log

# HTTPS with required client certificates (a throwaway PKI made with the openssl CLI).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 1 -subj /CN=test-ca 2>/dev/null
# "elsewhere" is a client certificate of another host (10.9.9.9, ate-99).
for who in server:IP:127.0.0.1 client:IP:127.0.0.1 elsewhere:IP:10.9.9.9,DNS:ate-99; do
    san=${who#*:}
    who=${who%%:*}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key \
        -out $who.csr -subj /CN=$who 2>/dev/null
    printf 'subjectAltName=%s\n' "$san" >ext.cnf
    openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile ext.cnf -out $who.pem 2>/dev/null
done
check "ftpa serve starts over HTTPS" start_ftpa --config-dir cfg --db reg-tls.db \
    --tls-cert server.pem --tls-key server.key --client-ca ca.pem
tls_pid=${pids##* }
tls="https://127.0.0.1:$port/pa.ProvisioningApplianceService"
check "HTTPS with a client certificate" code 200 --cacert ca.pem --cert client.pem \
    --key client.key -H "$json" -d '{"sku":"sival","sku_auth":"test_password"}' "$tls/InitSession"
check "HTTPS without a client certificate is refused" sh -c \
    "! curl -s -f --cacert ca.pem -H '$json' -d '{}' '$tls/InitSession' >/dev/null 2>&1"
printf '{"sku":"sival","sku_auth":"test_password"}' >init.json
check "the harness client over mTLS (request from a file)" "$ftpa" call \
    --url "https://127.0.0.1:$port" --ca ca.pem --cert client.pem --key client.key InitSession @init.json
check "ftpa call reads the request from stdin" sh -c "'$ftpa' call --url 'https://127.0.0.1:$port' \
    --ca ca.pem --cert client.pem --key client.key InitSession @- <init.json >/dev/null"
check "registry reads without --reader-token-file: 403" code 403 --cacert ca.pem \
    --cert client.pem --key client.key "https://127.0.0.1:$port/ftpa/v1/registry"

# The endpoint check (upstream's CheckEndpointInterceptor): a valid certificate of another
# host is refused with UNKNOWN (HTTP 500), naming the address; --no-endpoint-check lets
# it through, for testers behind NAT.
check "a client certificate of another host: 500" code 500 --cacert ca.pem --cert elsewhere.pem \
    --key elsewhere.key -H "$json" -d '{"sku":"sival","sku_auth":"test_password"}' "$tls/InitSession"
check "  ... UNKNOWN, naming the client address" grep -q \
    '"code":2,"message":"client IP \\"127.0.0.1\\" or DNS name .* does not match' out.json
kill -TERM "$tls_pid" && wait "$tls_pid"
check "ftpa serve starts over HTTPS with --no-endpoint-check" start_ftpa --config-dir cfg \
    --db reg-tls.db --tls-cert server.pem --tls-key server.key --client-ca ca.pem \
    --no-endpoint-check
tls="https://127.0.0.1:$port/pa.ProvisioningApplianceService"
check "  ... then that certificate is accepted" code 200 --cacert ca.pem --cert elsewhere.pem \
    --key elsewhere.key -H "$json" -d '{"sku":"sival","sku_auth":"test_password"}' "$tls/InitSession"
kill -TERM "$(echo "$pids" | awk '{print $NF}')"

# --latency-ms N: every RPC's answer comes N ms late, never sooner (curl's own timer).
check "ftpa serve --latency-ms 400 starts" start_ftpa --config-dir cfg --db reg-late.db \
    --latency-ms 400
late() {
    t=$(curl -s -o out.json -w '%{time_total}' -H "$json" -H 'user_id: tester/9' \
        -d '{"sku":"sival","sku_auth":"test_password"}' \
        "http://127.0.0.1:$port/pa.ProvisioningApplianceService/InitSession")
    echo "  InitSession took $t s"
    awk -v t="$t" 'BEGIN { exit !(t >= 0.4) }'
}
check "  ... an RPC's answer takes at least 400 ms" late
check "--latency-ms 0 is refused" sh -c "! '$ftpa' serve --config-dir cfg --db x.db --latency-ms 0 2>/dev/null"
check "--latency-ms 60001 is refused" sh -c \
    "! '$ftpa' serve --config-dir cfg --db x.db --latency-ms 60001 2>/dev/null"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
