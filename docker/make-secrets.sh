#!/bin/sh
# Creates the Docker secrets that docker/stack.yml uses, with random values.
# Run it on a Swarm manager, before the first `docker stack deploy`:
#   docker/make-secrets.sh
# Secrets that exist already are kept (Docker cannot show nor change them),
# so running it again only adds what is missing. A password and the URL made
# from it are created together: if only one of the pair exists, remove it
# (`docker secret rm NAME`, after `docker stack rm halftone`) and run again.
# The values are printed nowhere; the services read them from /run/secrets/.
set -eu
DB_HOST=${DB_HOST:-mariadb:3306}

# $1 hex digits of randomness (MinIO access keys: at most 20 characters).
random() { od -An -N"$(($1 / 2))" -tx1 /dev/urandom | tr -d ' \n'; }
exists() { docker secret inspect "$1" >/dev/null 2>&1; }
create() {
    printf '%s' "$2" | docker secret create --label app=halftone "$1" - >/dev/null
    echo "created $1"
}
single() {
    if exists "$1"; then echo "kept    $1"; else create "$1" "$(random "$2")"; fi
}
# A database user's password, and the URL the service connects with.
database() {
    password_secret=$1 url_secret=$2 user=$3 database=$4
    if exists "$password_secret" && exists "$url_secret"; then
        echo "kept    $password_secret, $url_secret"
    elif exists "$password_secret" || exists "$url_secret"; then
        echo "only one of $password_secret and $url_secret exists: they must agree." >&2
        echo "Remove it (docker secret rm) and run this again." >&2
        exit 1
    else
        password=$(random 48)
        create "$password_secret" "$password"
        create "$url_secret" "mysql://$user:$password@$DB_HOST/$database"
    fi
}

docker info -f '{{.Swarm.ControlAvailable}}' 2>/dev/null | grep -qx true || {
    echo "run this on a Swarm manager (docker swarm init, once)" >&2
    exit 1
}
database halftone_db_password halftone_database_url halftone halftone
database analytics_db_password analytics_database_url analytics halftone_analytics
single analytics_secret 48
single mariadb_root_password 48
single minio_root_user 20
single minio_root_password 40
single media_access_key_id 20
single media_secret_access_key 40
