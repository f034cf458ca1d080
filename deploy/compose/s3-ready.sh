#!/usr/bin/env bash
# Health check of the compose S3 store: the SeaweedFS S3 gateway answers /healthz and the bucket
# "$1" exists (created here when missing: the services list the bucket before they write to it).
set -euo pipefail
bucket="${1:?usage: s3-ready.sh BUCKET}"
exec 3<>/dev/tcp/127.0.0.1/8333
printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
head -n1 <&3 | grep -q ' 200 '
buckets() { echo 'fs.ls /buckets' | weed shell -master=127.0.0.1:9333 2>/dev/null; }
if ! buckets | grep -qx "$bucket"; then
    echo "s3.bucket.create -name $bucket" | weed shell -master=127.0.0.1:9333 >/dev/null 2>&1
    buckets | grep -qx "$bucket"
fi
