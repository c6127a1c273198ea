#!/bin/sh
# One-shot job on the minio/mc image: creates Halftone's bucket and a MinIO
# user that may use that bucket only (Halftone never gets the root keys).
# Safe to run again: every step is create-or-keep.
#
# Each credential comes from the variable itself or, with _FILE appended, from
# a file (an absolute path, or a name under /run/secrets):
#   MINIO_ROOT_USER, MINIO_ROOT_PASSWORD            the server's root keys
#   MEDIA_ACCESS_KEY_ID, MEDIA_SECRET_ACCESS_KEY    the keys Halftone uses
# and MEDIA_BUCKET (default halftone-media), MINIO_URL (default
# http://minio:9000), MEDIA_PUBLIC_READ=true to let anyone download objects
# (only needed when HALFTONE_MEDIA__STORE__PUBLIC_URL sends readers there).
set -eu

value() {
    name=$1
    eval "file=\${${name}_FILE:-}"
    if [ -n "$file" ]; then
        case $file in /*) ;; *) file=/run/secrets/$file ;; esac
        cat "$file"
    else
        eval "printf '%s' \"\${${name}:?set ${name} or ${name}_FILE}\""
    fi
}

url=${MINIO_URL:-http://minio:9000}
bucket=${MEDIA_BUCKET:-halftone-media}
root_user=$(value MINIO_ROOT_USER)
root_password=$(value MINIO_ROOT_PASSWORD)
key=$(value MEDIA_ACCESS_KEY_ID)
secret=$(value MEDIA_SECRET_ACCESS_KEY)

# MinIO may still be starting (Swarm has no depends_on).
tries=0
until mc alias set store "$url" "$root_user" "$root_password" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "MinIO at $url did not accept the root keys within 2 minutes" >&2
        exit 1
    fi
    sleep 2
done

mc mb --ignore-existing "store/$bucket"

policy=/tmp/halftone-media-policy.json
cat > "$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$bucket"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                 "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$bucket/*"]
    }
  ]
}
JSON
mc admin policy create store halftone-media "$policy"
mc admin user add store "$key" "$secret"
# Attaching a policy that is already attached is an error for mc; that is fine.
if ! mc admin policy attach store halftone-media --user "$key" 2>/dev/null; then
    mc admin user info store "$key" | grep -q halftone-media
fi

if [ "${MEDIA_PUBLIC_READ:-false}" = true ]; then
    mc anonymous set download "store/$bucket"
fi
echo "bucket $bucket is ready"
