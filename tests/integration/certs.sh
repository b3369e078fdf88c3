#!/bin/sh
# usage: certs.sh DIR
# Makes throwaway test PKI in DIR with openssl (EC P-256 keys, fast even
# under valgrind):
#   ca.pem ca.key              test CA
#   server.pem server.key      server cert for localhost / 127.0.0.1 / ::1,
#                              signed by ca
#   client.pem client.key      client cert (CN vartrack-watcher), signed by ca
#   other-ca.pem other-ca.key  an unrelated CA (the "wrong CA" case)
# Never changes directory: a valgrind tracing us may have been given
# relative paths (suppressions) that must keep working.
set -eu
d=${1:?usage: certs.sh DIR}
mkdir -p "$d"
days=2
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$d/$1" 2>/dev/null; }
ca() { # name cn
	key "$1.key"
	openssl req -x509 -new -key "$d/$1.key" -sha256 -days $days \
		-subj "/CN=$2" -out "$d/$1.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name cn extfile
	key "$1.key"
	openssl req -new -key "$d/$1.key" -subj "/CN=$2" -out "$d/$1.csr"
	openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -CAserial "$d/ca.srl" -days $days -sha256 \
		-extfile "$3" -out "$d/$1.pem" 2>/dev/null
	rm -f "$d/$1.csr"
}
ca ca "vartrack test CA"
ca other-ca "unrelated test CA"
cat > "$d/server.ext" <<'X'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
X
cat > "$d/client.ext" <<'X'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
X
leaf server localhost "$d/server.ext"
leaf client vartrack-watcher "$d/client.ext"
rm -f "$d/server.ext" "$d/client.ext" "$d/ca.srl"
