# First start of the MariaDB container (sourced by the image's entrypoint,
# hence not executable): the analytics service gets a database and a user of
# its own — never root, never the site's tables. The password comes from the
# environment (docker/.env, made by docker/make-env.sh) or, in the Swarm stack,
# from the file named by ANALYTICS_DB_PASSWORD_FILE (a Docker secret).
if [ -n "${ANALYTICS_DB_PASSWORD_FILE:-}" ]; then
	ANALYTICS_DB_PASSWORD=$(cat "$ANALYTICS_DB_PASSWORD_FILE")
fi
: "${ANALYTICS_DB_PASSWORD:?ANALYTICS_DB_PASSWORD (or ANALYTICS_DB_PASSWORD_FILE) is not set}"
docker_process_sql <<SQL
CREATE DATABASE IF NOT EXISTS halftone_analytics CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'analytics'@'%' IDENTIFIED BY '${ANALYTICS_DB_PASSWORD}';
GRANT ALL PRIVILEGES ON halftone_analytics.* TO 'analytics'@'%';
FLUSH PRIVILEGES;
SQL
