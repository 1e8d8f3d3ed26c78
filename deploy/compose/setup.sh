#!/bin/sh
# The compose `setup` service (alpine/openssl, as root): generates the keys once into
# ./deploy/compose/user-keys (owned by the host user, who needs admin-token and private.key),
# then hands each service only the files it needs, readable by the image user (uid 1000):
#   kbs-keys volume: public.pub (admin token verification), ca-cert.pem (attestation token trust)
#   as-keys volume:  token.key, token-cert-chain.pem (EAR token signer), public.pub (admin tokens)
#   rvps-keys volume: public.pub (admin tokens: list/delete and registration need one)
# The admin private key and the CA key never enter a service container.
set -eu
sh /deploy/generate-keys.sh /user-keys

SERVICE_OWNER=1000:1000
publish() { # FILE DEST_DIR MODE
  cp "/user-keys/$1" "$2/.$1.tmp"
  chown "$SERVICE_OWNER" "$2/.$1.tmp"
  chmod "$3" "$2/.$1.tmp"
  mv "$2/.$1.tmp" "$2/$1"
}
publish public.pub /out/kbs 0444
publish ca-cert.pem /out/kbs 0444
publish token.key /out/as 0400
publish token-cert-chain.pem /out/as 0444
publish public.pub /out/as 0444
publish public.pub /out/rvps 0444
chown "$SERVICE_OWNER" /out/kbs /out/as /out/rvps
chmod 0755 /out/kbs /out/as /out/rvps
echo "setup: keys ready (admin token: deploy/compose/user-keys/admin-token)"
