#!/usr/bin/env bash
# API input bounds and path traversal. A body over 1 MiB gets 413, headers over 64 KiB 431 and
# a URL over 8 KiB 414, each with a JSON error, and the daemon keeps answering (the abuse and
# slow-client cases belong to other tests). Every route that takes a name or id that could
# become a path (app names in /v1/apps/:app..., ?app= of logs and flush, backup jobs and
# backup ids of verify and restore) answers a traversal such as ../../etc/passwd, raw or
# percent-encoded, with 400/404 and a message naming what was not found; nothing outside
# $TEND_HOME and the backup target is read or written: a forged manifest in the target naming
# "../decoy" is not listed, so verify, restore and retention never touch the decoy.
# timeout: 90
. "$(dirname "$0")/../lib.sh"
mkdir -p data out
echo hello > data/a.txt
echo "decoy: must survive" > decoy
cp decoy decoy.orig
cat > tend.yaml <<EOF
apps:
  - name: a
    argv: [sleep, "1000"]
backups:
  - name: files
    files: {paths: [$W/data]}
    targets: [{local: $W/out}]
    keep: {last: 1}
EOF
chmod 600 tend.yaml
tend up tend.yaml >/dev/null || fail "tend up failed: $(tend config check tend.yaml 2>&1)"
S=$TEND_HOME/tend.sock
# req METHOD PATH [BODY]: prints the HTTP status, leaves the answer in $W/ans.
req() {
  curl -s --path-as-is -o "$W/ans" -w '%{http_code}' --max-time 20 --unix-socket "$S" -X "$1" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "http://tend$2"
}
expect() { # expect CODES METHOD PATH [BODY]: the status is one of CODES (e.g. 400|404)
  local want=$1 code; shift
  code=$(req "$@")
  [[ $code =~ ^($want)$ ]] || fail "$1 $2 answered $code, not $want: $(head -c 300 "$W/ans")"
  grep -q '"error":{"code":' "$W/ans" || fail "$1 $2: no JSON error: $(head -c 300 "$W/ans")"
}

# --- bounds
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' > big.json
code=$(curl -s -o "$W/ans" -w '%{http_code}' --unix-socket "$S" -X POST \
  -H 'Content-Type: application/json' --data-binary @big.json http://tend/v1/up)
[ "$code" = 413 ] && grep -q '"code":"body_too_large"' "$W/ans" || fail "1 MiB + 1 body: $code $(cat "$W/ans")"
big=$(head -c $((65 * 1024)) /dev/zero | tr '\0' a)
code=$(curl -s -o "$W/ans" -w '%{http_code}' --unix-socket "$S" -H "X-Big: $big" http://tend/v1/status)
[ "$code" = 431 ] && grep -q '"code":"headers_too_large"' "$W/ans" || fail "65 KiB header: $code $(cat "$W/ans")"
code=$(curl -s -o "$W/ans" -w '%{http_code}' --unix-socket "$S" "http://tend/v1/status?x=${big:0:9000}")
[ "$code" = 414 ] || fail "9 KB URL: $code $(cat "$W/ans")"
code=$(req GET /v1/status)
[ "$code" = 200 ] || fail "the daemon stopped answering after the oversized requests ($code)"

# --- app names
for name in ../../etc/passwd ..%2F..%2Fetc%2Fpasswd %2e%2e%2f%2e%2e%2fetc%2fpasswd ..%2F..%2Ftend.yaml; do
  expect '404' GET "/v1/apps/$name"
  grep -q 'no app named' "$W/ans" || grep -q 'no such API path' "$W/ans" || fail "message: $(cat "$W/ans")"
  grep -q 'root:' "$W/ans" && fail "/etc/passwd leaked through /v1/apps/$name"
  expect '404' GET "/v1/apps/$name/env"
  expect '404' POST "/v1/apps/$name/restart" '{}'
  expect '404' GET "/v1/logs?app=$name&lines=50"
  grep -q 'root:' "$W/ans" && fail "/etc/passwd leaked through /v1/logs?app=$name"
  expect '404' POST "/v1/flush?app=$name"
  expect '404' GET "/v1/status?app=$name"
done
grep -q 'no app named \\"../../tend.yaml\\"' "$W/ans" || fail "the 404 does not name the app: $(cat "$W/ans")"
code=$(req GET "/v1/events?app=../../etc/passwd")
[ "$code" = 200 ] && grep -q '"events":\[\]' "$W/ans" || fail "events filter: $code $(cat "$W/ans")"

# --- backup jobs and ids
tend backup run files >/dev/null || fail "backup run failed"
[ "$(ls out/*.json | wc -l)" = 1 ] || fail "no backup made: $(ls out)"
for job in ..%2F..%2Fetc ..%2Fdecoy; do
  expect '404' POST "/v1/backups/$job/verify" '{}'
  grep -q 'no backup job' "$W/ans" || fail "message: $(cat "$W/ans")"
done
for id in ../../etc/passwd ../decoy /etc/passwd ..; do
  expect '400|404' POST /v1/backups/files/verify "{\"id\":\"$id\"}"
  expect '400|404' POST /v1/backups/files/restore "{\"id\":\"$id\",\"to\":\"$W/restored\",\"yes\":true}"
done
[ -e restored ] && fail "a refused restore created $W/restored"
# A forged manifest in the target naming a file outside it, older than the real backup.
real=$(ls out/*.json | head -n 1)
python3 - "$real" out/forged.json <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["id"], m["file"] = "forged", "../decoy"
for k in ("started", "finished", "time", "started_ms", "finished_ms"):
    if isinstance(m.get(k), (int, float)):
        m[k] = 1
json.dump(m, open(sys.argv[2], "w"))
EOF
# It is not listed (a manifest must be named after its file), so it cannot be picked.
expect '404' POST /v1/backups/files/verify '{"id":"forged"}'
expect '404' POST /v1/backups/files/restore "{\"id\":\"forged\",\"to\":\"$W/restored\",\"yes\":true}"
tend backup list files | grep -q forged && fail "the forged manifest is listed: $(tend backup list files)"
[ -e restored ] && fail "the forged manifest was restored"
tend backup run files >/dev/null || fail "second backup run failed" # retention: keep last 1
cmp -s decoy decoy.orig || fail "the decoy outside the target was changed or removed"
[ -e data/a.txt ] || fail "the backed-up data was touched"
true
