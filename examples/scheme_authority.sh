#!/usr/bin/env bash
# The scheme authority (stelselbeheerder) publishes the signed trust list.
#
# The authority holds one signing key, the anchor. Every verifier and wallet pins the anchor's
# public key, which it gets once, out of band. From then on a new trust list is just a file that
# anyone may copy around: only the anchor can sign one.
#
# Each organisation sends its trust-list entry: `issuer init` / `rodeknop init` write one, and an
# organisation that manages its keys with another tool writes it by hand (specs/trust-list.md).
# All names, ids and keys here are fictional.
#
#   Run: bash examples/scheme_authority.sh [WORK_DIR]     (default: a fresh temporary directory)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Use the repository's virtual environment when the commands are not on PATH yet.
command -v blauweknop >/dev/null || PATH="$HERE/../.venv/bin:$PATH"

WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/blauweknop-authority-XXXXXX")}"
mkdir -p "$WORK" && cd "$WORK"
echo "working in $WORK"

echo "== 1. The anchor key (once; keep anchor.jwk offline, e.g. in an HSM or a safe)"
blauweknop keys generate --alg ES256 --out anchor.jwk

echo "== 2. Entries arrive from the organisations"
mkdir -p entries
# Two organisations set up with the blauweknop tools send the trust-entry.json they got:
rodeknop init --home gemeente-eindhoven --id urn:oin:00000001001234567000 \
  --name "Gemeente Eindhoven" --municipality-code GM0772 \
  --status-uri https://status.eindhoven.example/rk
blauweknop issuer init --home cjib --id urn:oin:00000001003214345000 --name CJIB \
  --status-uri https://status.cjib.example/bk
cp gemeente-eindhoven/trust-entry.json entries/gemeente-eindhoven.json
cp cjib/trust-entry.json entries/cjib.json
# A third manages its own (Ed25519) key and writes its entry by hand, registered for one year:
blauweknop keys generate --alg EdDSA --out duo-signing.jwk
UNTIL="$(python3 -c 'import datetime as d; print((d.datetime.now(d.UTC) + d.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"))')"
cat > entries/duo.json <<EOF
{
  "id": "urn:oin:00000001800866472000",
  "name": "DUO",
  "roles": ["creditor"],
  "jwks": {"keys": [$(cat duo-signing.pub.jwk)]},
  "valid_until": "$UNTIL"
}
EOF

echo "== 3. Sign the trust list (valid 30 days: re-sign well before it expires)"
blauweknop trust build --anchor-key anchor.jwk \
  --entry entries/gemeente-eindhoven.json --entry entries/cjib.json --entry entries/duo.json \
  --valid-days 30 --out trust.jwt

echo "== 4. Check it the way every verifier will: against the pinned anchor"
blauweknop trust show trust.jwt --anchor anchor.pub.jwk
blauweknop trust show trust.jwt --anchor anchor.pub.jwk --json > trust.json

echo "== 5. Publish: the list and the anchor's public key as static files"
mkdir -p public
cp trust.jwt anchor.pub.jwk public/
# Verifiers compare this fingerprint with the one announced out of band before pinning the key.
python3 - <<'EOF'
import hashlib
import pathlib

digest = hashlib.sha256(pathlib.Path("public/anchor.pub.jwk").read_bytes()).hexdigest()
print(f"anchor.pub.jwk sha256 {digest}")
EOF
ls -1 public

# Checked against any other key, the list is refused: exit 1, reason trust_list_invalid.
rc=0
blauweknop trust show trust.jwt --anchor duo-signing.pub.jwk || rc=$?
if [ "$rc" -ne 1 ]; then
  echo "ERROR: expected exit 1 for the wrong anchor, got $rc" >&2
  exit 1
fi
echo "a list checked against another key is refused, as it should be"
