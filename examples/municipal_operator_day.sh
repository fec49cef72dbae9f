#!/usr/bin/env bash
# A municipal operator's day with the `rodeknop` command (Gemeente Eindhoven, fictional data).
#
#   1. set up the municipality once (signing key, register, trust-list entry);
#   2. issue this week's admissions to debt relief from the case system's CSV export, in one
#      batch, and run it again to see that a batch is resumable (nothing is issued twice);
#   3. revoke one declaration whose trajectory ended;
#   4. publish the status lists that creditors sync, so they see the revocation.
#
# The CSV is examples/data/batch/admissions.csv, its dates moved to today by
# examples/shift_dates.py, when that file exists; otherwise this script writes one, with the
# pause starting today. Format: specs/rode-knop-batch.md.
#
#   Run: bash examples/municipal_operator_day.sh [WORK_DIR]   (default: a fresh temporary directory)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Use the repository's virtual environment when the commands are not on PATH yet.
command -v rodeknop >/dev/null || PATH="$HERE/../.venv/bin:$PATH"

WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/rodeknop-day-XXXXXX")}"
mkdir -p "$WORK" && cd "$WORK"
echo "working in $WORK"

echo "== 1. Set up the municipality (once)"
rodeknop init --home gemeente --id urn:oin:00000001001234567000 --name "Gemeente Eindhoven" \
  --municipality-code GM0772 --status-uri https://status.eindhoven.example/rk
# gemeente/trust-entry.json goes to the scheme authority (see examples/scheme_authority.sh).

echo "== 2. This week's admissions"
if [ -f "$HERE/data/batch/admissions.csv" ]; then
  # Holder-key paths in the CSV are relative to its folder: copy the folder as a whole, with
  # every date moved by the days passed since the example was written (the pause starts about
  # today; a real case system exports today's admissions).
  python3 "$HERE/shift_dates.py" "$HERE/data/batch" admissions
  CSV=admissions/admissions.csv
else
  mkdir -p admissions
  # The citizens' wallets hand over their public holder keys; these keys stand in for them.
  for who in jansen devries elbaz; do
    blauweknop keys generate --out "admissions/$who.jwk" >/dev/null
    rm "admissions/$who.jwk"   # the private half belongs in the citizen's wallet, not here
  done
  read -r TODAY UNTIL <<<"$(python3 -c 'import datetime as d; t = d.date.today(); print(t, t + d.timedelta(days=119))')"
  CSV=admissions/admissions.csv
  cat > "$CSV" <<EOF
declaration_id,holder_key,family_name,given_names,birthdate,trajectory_start,valid_from,valid_until,requested_measures,executing_organisation,counsellor_organisation_phone,counsellor_organisation_email,bsn,client_reference
GM0772-RK-DEMO-0001,jansen.pub.jwk,Jansen,Eva Maria,1988-04-12,$TODAY,$TODAY,$UNTIL,suspend_collection;no_additional_costs;no_garnishment;no_bailiff,Schuldhulp Eindhoven (fictief),040 238 6000,schuldhulp@eindhoven.example,999999990,SHV-88213
GM0772-RK-DEMO-0002,devries.pub.jwk,de Vries,Pieter,1975-01-30,$TODAY,$TODAY,$UNTIL,suspend_collection,Schuldhulp Eindhoven (fictief),040 238 6000,schuldhulp@eindhoven.example,,SHV-88214
GM0772-RK-DEMO-0003,elbaz.pub.jwk,El Baz,Samira,1992-09-03,$TODAY,$TODAY,$UNTIL,suspend_collection;no_additional_costs,Schuldhulp Eindhoven (fictief),040 238 6000,schuldhulp@eindhoven.example,,SHV-88215
EOF
fi

# Exit 0: every row issued. Exit 2: some rows were rejected (the others were issued) or the
# file was refused as a whole; batch-report.json says which and why.
rc=0
rodeknop issue --home gemeente --batch "$CSV" --out-dir issued || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then exit "$rc"; fi
[ -f issued/batch-report.json ] || { echo "no batch report" >&2; exit 1; }
echo "report: $(cat issued/batch-report.json)"

echo "== 2b. Run the same batch again (e.g. after a crash): nothing is issued twice"
rodeknop issue --home gemeente --batch "$CSV" --out-dir issued || true
rodeknop list --home gemeente

echo "== 3. A trajectory ended: revoke that declaration"
rodeknop list --home gemeente --state valid --json > valid.json
FIRST="$(python3 -c 'import json; rows = json.load(open("valid.json"))["credentials"]; print(rows[0]["credential_id"] if rows else "")')"
[ -n "$FIRST" ] || { echo "no declaration was issued; see issued/batch-report.json" >&2; exit 1; }
rodeknop revoke --home gemeente --reason "debt-relief trajectory ended" --actor "operator j.smit" "$FIRST"
rodeknop list --home gemeente --state revoked --json

echo "== 4. Publish the status lists (serve them as static files at the --status-uri)"
rodeknop status publish --home gemeente --out-dir public/status
ls -1 public/status
