#!/bin/sh
# Prints a docker/.env with fresh random secrets for docker-compose.yml:
#   docker/make-env.sh > docker/.env && chmod 600 docker/.env
# Run it once; the database and MinIO keep the passwords they were created
# with. After an upgrade that needs new entries, give it the existing file:
# it prints only the missing ones, to append:
#   docker/make-env.sh docker/.env >> docker/.env
set -eu
existing=${1:-}
# $1 hex digits of randomness (MinIO access keys: at most 20 characters).
random() { od -An -N"$(($1 / 2))" -tx1 /dev/urandom | tr -d ' \n'; }
emit() {
    if [ -n "$existing" ] && grep -q "^$1=" "$existing"; then return 0; fi
    echo "$1=$(random "$2")"
}
emit HALFTONE_DB_PASSWORD 48
emit ANALYTICS_DB_PASSWORD 48
emit ANALYTICS_SECRET 48
# The object store: MinIO's root keys, and the keys Halftone uses (a MinIO
# user allowed the media bucket only, made by minio/create-bucket.sh).
emit MINIO_ROOT_USER 20
emit MINIO_ROOT_PASSWORD 40
emit MEDIA_ACCESS_KEY_ID 20
emit MEDIA_SECRET_ACCESS_KEY 40
