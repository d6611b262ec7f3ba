#!/bin/sh
# Turns a fresh `debootstrap --variant=minbase` tree into the root filesystem of triage/base.
# Runs on the host, as root, before the tree is packed and imported (`docker import`).
#
# usage: customize.sh ROOT SUITE MIRROR [SECURITY_MIRROR [UPDATES]]
#   MIRROR and SECURITY_MIRROR are the host's Debian mirrors (the builds on top of this image
#   install their packages from them); an empty SECURITY_MIRROR leaves the security suite out,
#   UPDATES=no leaves SUITE-updates out.
set -eu

root=$1
suite=$2
mirror=$3
security=${4:-}
updates=${5:-yes}

[ -x "$root/usr/bin/apt-get" ] || {
    echo "customize.sh: $root is not a Debian root filesystem" >&2
    exit 2
}

# The apt sources: the same mirrors as the host's.
{
    echo "deb $mirror $suite main"
    [ "$updates" = no ] || echo "deb $mirror $suite-updates main"
    [ -z "$security" ] || echo "deb $security $suite-security main"
} >"$root/etc/apt/sources.list"

# Small images: no recommended packages, no translations, no documentation (as Debian's own
# images for Docker do), and no services started by package scripts during a build.
cat >"$root/etc/apt/apt.conf.d/90triage" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Retries "3";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
CONF
cat >"$root/etc/dpkg/dpkg.cfg.d/90triage-nodoc" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CONF
printf '#!/bin/sh\n# Docker image: package scripts start no services.\nexit 101\n' \
    >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

# Nothing of the host, nor of debootstrap, stays in the image: Docker provides the hostname,
# hosts and resolver files of each container.
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/debootstrap
rm -rf "$root"/usr/share/doc/*/changelog* "$root"/usr/share/man/* "$root"/usr/share/info/*
find "$root"/var/log -type f -exec truncate -s 0 {} +
: >"$root/etc/resolv.conf"
echo localhost >"$root/etc/hostname"
: >"$root/etc/machine-id"
