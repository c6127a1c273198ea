#!/bin/sh
# Runs nginx, and reloads it whenever the addresses behind $UPSTREAM_HOST change.
#
# nginx resolves the names in `upstream` blocks once, at start and on reload.
# A restarted container or a replica replaced by a rolling update comes back
# with a new address, which nginx would never learn: it would keep sending to
# the old one. This looks the name up every $UPSTREAM_POLL seconds (2) and
# reloads nginx (gracefully: connections in flight finish) when the set of
# addresses is different. It also waits for a first address, since nginx
# refuses to start while a name in an upstream does not resolve.
#   UPSTREAM_HOST   halftone (compose) or tasks.halftone (swarm)
set -u
host=${UPSTREAM_HOST:?set UPSTREAM_HOST, e.g. tasks.halftone}
poll=${UPSTREAM_POLL:-2}

addresses() {
    getent ahosts "$host" 2>/dev/null | awk '{ print $1 }' | sort -u | tr '\n' ' '
}

stopping=
pid=
stop() {
    stopping=1
    [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null
}
# SIGQUIT is nginx's graceful stop (the nginx image's STOPSIGNAL); Swarm and
# compose may send either.
trap stop QUIT TERM INT

known=$(addresses)
until [ -n "$known" ]; do
    [ -n "$stopping" ] && exit 0
    echo "reload-on-change: waiting for $host to resolve" >&2
    sleep "$poll" & wait $!
    known=$(addresses)
done

nginx -g 'daemon off;' &
pid=$!
echo "reload-on-change: nginx started, $host is $known" >&2

while kill -0 "$pid" 2>/dev/null; do
    sleep "$poll" & wait $!
    [ -n "$stopping" ] && break
    now=$(addresses)
    if [ -n "$now" ] && [ "$now" != "$known" ]; then
        echo "reload-on-change: $host is now $now- reloading nginx" >&2
        nginx -s reload && known=$now
    fi
done
wait "$pid"
status=$?
# A signal interrupts `wait`: wait again until nginx has really stopped.
while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
    status=$?
done
exit "$status"
