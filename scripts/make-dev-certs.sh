#!/usr/bin/env bash
# Makes a throw-away PKI and tokens for trying EyeGAN with TLS, mutual TLS and bearer tokens.
#
#   scripts/make-dev-certs.sh [DIR] [EXTRA_HOST_NAME...]
#
# DIR (default ./certs) gets:
#   ca.pem, ca-key.pem          a self-signed CA (10 years)
#   server.pem, server-key.pem  a server certificate for localhost, 127.0.0.1, ::1 and every
#                               EXTRA_HOST_NAME (e.g. dataset trainer generator classifier)
#   client.pem, client-key.pem  a client certificate (mutual TLS)
#   tokens.txt                  one random bearer token (what servers accept, --auth-tokens-file)
#   token.txt                   the same token (what clients send, --token-file / token_file)
# Existing files are not overwritten: delete DIR to start again. Needs openssl.
set -euo pipefail

dir=${1:-certs}
shift || true
if [[ -e "$dir/ca.pem" ]]; then
    echo "$dir/ca.pem exists; delete $dir to make new certificates" >&2
    exit 1
fi
mkdir -p "$dir"
umask 077

sans="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
    sans="$sans,DNS:$name"
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=EyeGAN dev CA" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null

leaf() { # name common-name extensions
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
        -keyout "$dir/$1-key.pem" -out "$dir/$1.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
        -CAcreateserial -days 825 -out "$dir/$1.pem" -extfile <(printf '%s\n' "$3") 2>/dev/null
    rm -f "$dir/$1.csr"
}
leaf server "EyeGAN service" "subjectAltName=$sans
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
leaf client "EyeGAN client" "subjectAltName=DNS:eyegan-client
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
rm -f "$dir/ca.srl"

token=$(openssl rand -hex 24)
printf '# accepted bearer tokens, one per line\n%s\n' "$token" > "$dir/tokens.txt"
printf '%s\n' "$token" > "$dir/token.txt"

echo "wrote $dir: ca.pem, server.pem/server-key.pem ($sans), client.pem/client-key.pem, tokens.txt, token.txt"
