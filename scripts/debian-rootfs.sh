# shellcheck shell=bash
# Sourced by scripts/offline-images.sh and scripts/arm64-images.sh: a Debian rootfs for a base
# image, debootstrapped from the mirror this machine's apt already uses. The caller defines
# say() and die().

# The Debian mirror this machine's apt already uses (deb822 .sources first, then sources.list).
debian_mirror() {
  local uri
  uri=$(awk '
    /^URIs:/   { uris = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) base = 1 }
    /^$/       { if (base && uris != "") { print uris; exit } uris = ""; base = 0 }
    END        { if (base && uris != "") print uris }
  ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 !~ /-/ { print ($2 ~ /^\[/ ? $3 : $2); exit }' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or sources.list"
  # The rootfs is debootstrapped from the main archive, never from the security archive.
  case "$uri" in *security*) die "only a security mirror found ($uri)";; esac
  echo "$uri"
}

# debian_rootfs DIR SUITE [DEBOOTSTRAP_OPTION...]: a minbase rootfs in DIR (made anew), set up
# the way Debian's own container images are. A foreign --arch runs its package scripts under
# binfmt_misc's emulator (scripts/arm64-images.sh registers it).
debian_rootfs() {
  local rootfs=$1 suite=$2 mirror log
  shift 2
  command -v debootstrap >/dev/null 2>&1 || {
    [ "$(id -u)" -eq 0 ] || die "debootstrap is missing (apt-get install debootstrap, as root)"
    say "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
  mirror=$(debian_mirror)
  log=$rootfs.debootstrap.log
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  say "debootstrap --variant=minbase $* $suite from $mirror"
  debootstrap --variant=minbase --include=ca-certificates "$@" "$suite" "$rootfs" "$mirror" \
    >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "debootstrap failed (log: $log)"; }
  # What Debian's own container images do: no daemons started by package scripts, no
  # recommends, no docs, no apt caches left in layers.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  cat >"$rootfs/etc/apt/apt.conf.d/90container" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
CONF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90container" <<'CONF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CONF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/*
}
