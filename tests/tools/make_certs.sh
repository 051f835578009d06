#!/usr/bin/env bash
# make_certs.sh DIR: fresh test certificates with the openssl CLI.
#   ca.pem / ca-key.pem          a CA the tests trust
#   server.pem / server-key.pem  for 127.0.0.1, ::1 and localhost, by the CA
#   client.pem / client-key.pem  a client certificate (mTLS), by the CA
#   rogue-ca.pem                 a CA nobody trusts
#   rogue-server.pem / -key.pem  a server certificate by the rogue CA
# EC P-256 keys: quick to make. Valid for a day.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
q() { "$@" >/dev/null 2>&1 || { echo "make_certs: $* failed" >&2; exit 1; }; }

ca() { # name
  q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1-key.pem" -out "$1.pem" -days 1 -subj "/CN=jetwire test $1" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name ca ext
  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=jetwire test $1"
  printf '%s\n' "$3" > "$1.ext"
  q openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" \
    -CAcreateserial -out "$1.pem" -days 1 -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}

server_ext="subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
extendedKeyUsage=serverAuth"
ca ca
ca rogue-ca
leaf server ca "$server_ext"
leaf client ca "extendedKeyUsage=clientAuth"
leaf rogue-server rogue-ca "$server_ext"
