#!/bin/sh
# Prints a docker/.env with fresh random secrets for docker-compose.yml:
#   docker/make-env.sh > docker/.env && chmod 600 docker/.env
# Run it once; the database keeps the passwords it was created with.
set -eu
secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
echo "HALFTONE_DB_PASSWORD=$(secret)"
echo "ANALYTICS_DB_PASSWORD=$(secret)"
echo "ANALYTICS_SECRET=$(secret)"
