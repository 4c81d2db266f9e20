#!/bin/sh
# The harness client (ftpa call) reaching ftpa through an nginx mTLS front, as a fab may
# deploy it: nginx terminates TLS and requires client certificates, ftpa listens on
# loopback HTTP. No client certificate and a wrong public-key pin must both be refused.
#   test_ftpa_nginx.sh FTPA SCRATCH_DIR
set -u
ftpa=$1
scratch=$2
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ] || ! command -v openssl >/dev/null 2>&1; then
    echo "nginx or openssl is not installed; skipping"
    exit 77
fi
rm -rf "$scratch"
mkdir -p "$scratch/logs" "$scratch/tmp"
cd "$scratch" || exit 1
pids=""
cleanup() {
    [ -f nginx.pid ] && kill "$(cat nginx.pid)" 2>/dev/null
    for p in $pids; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT
passed=0
failed=0
check() {
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

printf 'test_password\n' >pw
"$ftpa" init --config-dir cfg --sku sival --no-ext --password-file pw >/dev/null || exit 1
mkfifo ready
"$ftpa" serve --config-dir cfg --db reg.db >ready 2>serve.log &
pids="$pids $!"
read -r line <ready
backend=$(echo "$line" | sed -n 's/.*:\([0-9]*\) (.*/\1/p')

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 1 -subj /CN=front-ca 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key \
        -out $who.csr -subj /CN=$who 2>/dev/null
    openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile ext.cnf -out $who.pem 2>/dev/null
done
pin="sha256//$(openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | openssl base64)"

# nginx in daemon mode returns once its listening socket is bound. Ports are picked at
# random in the dynamic range; a taken one makes nginx fail and the next is tried.
started=false
for attempt in 1 2 3 4 5 6 7 8; do
    front=$(( (($$ + attempt * 7919) % 20000) + 40000 ))
    cat >nginx.conf <<CONF
worker_processes 1;
pid $scratch/nginx.pid;
error_log $scratch/logs/error.log;
events { worker_connections 64; }
http {
    access_log $scratch/logs/access.log;
    client_body_temp_path $scratch/tmp/body;
    proxy_temp_path $scratch/tmp/proxy;
    fastcgi_temp_path $scratch/tmp/fastcgi;
    uwsgi_temp_path $scratch/tmp/uwsgi;
    scgi_temp_path $scratch/tmp/scgi;
    underscores_in_headers on;
    server {
        listen 127.0.0.1:$front ssl;
        ssl_certificate $scratch/server.pem;
        ssl_certificate_key $scratch/server.key;
        ssl_client_certificate $scratch/ca.pem;
        ssl_verify_client on;
        location / {
            proxy_pass http://127.0.0.1:$backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
    if "$NGINX" -p "$scratch" -c "$scratch/nginx.conf" 2>>logs/start.log; then
        started=true
        break
    fi
done
check "nginx front starts" $started
url="https://127.0.0.1:$front"
init='{"sku":"sival","sku_auth":"test_password"}'
check "client with certificate and CA through the front" \
    "$ftpa" call --url "$url" --ca ca.pem --cert client.pem --key client.key InitSession "$init"
check "client with the right pin" \
    "$ftpa" call --url "$url" --ca ca.pem --cert client.pem --key client.key --pin "$pin" InitSession "$init"
check "no client certificate: refused" sh -c \
    "! '$ftpa' call --url '$url' --ca ca.pem InitSession '$init' >out.txt 2>&1"
cat out.txt | head -2
check "a pin mismatch: refused naming the pin" sh -c \
    "'$ftpa' call --url '$url' --ca ca.pem --cert client.pem --key client.key \
     --pin 'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' InitSession '$init' >out.txt 2>&1;
     test \$? -ne 0 && grep -qi pin out.txt"
cat out.txt | head -2
check "user_id reaches ftpa through the front" grep -q 'user=ftpa-call/0' serve.log

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
