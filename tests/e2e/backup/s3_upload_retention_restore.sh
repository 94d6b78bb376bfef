#!/usr/bin/env bash
# timeout: 120
# Backups to a local folder and an S3-compatible server (a real one on 127.0.0.1 that checks
# SigV4 signatures): uploaded and listed, retention applied on both targets, and with the local
# copies gone, list (sync), verify and restore still work from the bucket alone. A job with only
# an S3 target stages its file in $TEND_HOME and leaves nothing behind there.
. "$(dirname "$0")/../lib.sh"
S=$ROOT/tests/servers
eval "$("$S/s3.sh" start "$T/s3")" || fail "cannot start the S3 server"
on_exit "$S/s3.sh" stop "$T/s3"
export AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET

mkdir -p data/docs local
for i in 1 2 3; do head -c 100000 /dev/urandom > "data/docs/f$i.bin"; done
echo "config" > data/settings.ini
cat > tend.yaml <<YAML
backups:
  - name: uploads
    files: {paths: [$W/data]}
    targets:
      - local: $W/local
      - s3: {endpoint: "$S3_ENDPOINT", bucket: $S3_BUCKET, prefix: edp/uploads, region: $S3_REGION}
    keep: {last: 2}
  - name: offsite
    files: {paths: [$W/data]}
    targets:
      - s3: {endpoint: "$S3_ENDPOINT", bucket: $S3_BUCKET, prefix: edp/offsite, region: $S3_REGION}
YAML
# The daemon reads the credentials from its environment (started by this CLI call).
tend up tend.yaml >/dev/null || fail "tend up"
for n in 1 2 3; do tend backup run uploads >/dev/null || fail "run $n"; done
[ "$(ls local/*.json | wc -l)" -eq 2 ] || fail "local retention: $(ls local)"
note "bucket holds $(find "$T/s3/data" -path '*edp/uploads*' | wc -l) entries under edp/uploads"
tend backup sync uploads >/dev/null || fail "sync"
[ "$(tend backup list uploads --json | jget '["backups"].__len__()')" -eq 2 ] || fail "catalog should list 2 backups"

# The local disk is lost: the bucket alone lists, verifies and restores.
newest=$(tend backup list uploads --json | jget '["backups"][0]["id"]')
rm -rf local
tend backup sync uploads >/dev/null || fail "sync from the bucket"
# keep: {last: 2} applied on the bucket too: the oldest of the 3 runs is gone from it.
[ "$(tend backup list uploads --json | jget '["backups"].__len__()')" -eq 2 ] || fail "the bucket should still hold 2 backups"
tend backup verify uploads >/dev/null || fail "verify from the bucket"
tend backup restore uploads "$newest" --to "$W/back" >/dev/null || fail "restore from the bucket"
diff -r data back/data || fail "restored tree differs"

# Only an S3 target: nothing stays in the staging folder.
tend backup run offsite >/dev/null || fail "offsite run"
tend backup verify offsite >/dev/null || fail "offsite verify"
[ -z "$(ls -A "$TEND_HOME/backup/staging" 2>/dev/null)" ] || fail "staging not empty: $(ls -a "$TEND_HOME/backup/staging")"
echo ok
