#!/bin/sh
# Entrypoint of triage/mariadb. With `mariadbd` (the default) or only server options: make the
# data directory if it is empty, then start the server with an init file that sets the root
# password and creates the database and user that the environment names. The file is applied on
# every start, so a restart with changed variables takes them. Any other command runs as given.
set -eu

case "${1:-mariadbd}" in
mariadbd | mysqld) [ $# -eq 0 ] || shift ;;
-*) ;;
*) exec "$@" ;;
esac

datadir=/var/lib/mysql
mkdir -p /run/mysqld "$datadir"
chown mysql:mysql /run/mysqld "$datadir"

if [ ! -d "$datadir/mysql" ]; then
    echo "triage-mariadb: initialising $datadir" >&2
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
        --auth-root-authentication-method=socket >/dev/null
fi

# SQL string and identifier quoting.
str() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"; }
ident() { printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"; }

root_password=${MARIADB_ROOT_PASSWORD:-}
database=${MARIADB_DATABASE:-}
user=${MARIADB_USER:-}
password=${MARIADB_PASSWORD:-}

init=/run/mysqld/triage-init.sql
umask 077
{
    if [ -n "$root_password" ]; then
        # root: the socket (docker exec) or the password, locally and from the network.
        echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket" \
            "OR mysql_native_password USING PASSWORD($(str "$root_password"));"
        echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY $(str "$root_password");"
        echo "ALTER USER 'root'@'%' IDENTIFIED BY $(str "$root_password");"
        echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    elif [ "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" = 1 ] ||
        [ "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" = yes ]; then
        echo "CREATE USER IF NOT EXISTS 'root'@'%';"
        echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    fi
    # Otherwise root logs in over the socket only.
    if [ -n "$database" ]; then
        echo "CREATE DATABASE IF NOT EXISTS $(ident "$database");"
    fi
    if [ -n "$user" ]; then
        echo "CREATE USER IF NOT EXISTS $(str "$user")@'%' IDENTIFIED BY $(str "$password");"
        echo "ALTER USER $(str "$user")@'%' IDENTIFIED BY $(str "$password");"
        if [ -n "$database" ]; then
            echo "GRANT ALL PRIVILEGES ON $(ident "$database").* TO $(str "$user")@'%';"
        fi
    fi
    echo "FLUSH PRIVILEGES;"
} >"$init"
chown mysql:mysql "$init"

exec mariadbd --user=mysql --datadir="$datadir" --init-file="$init" "$@"
