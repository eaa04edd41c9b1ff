#!/usr/bin/env bash
# deps.sh: installs the Debian packages flashsale builds and runs with, and
# the npm packages of the browser tests. Installs only what is missing, so a
# second run costs a second. Needs root (apt-get) on a machine that lacks any.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential pkg-config libfcgi-dev libhiredis-dev libmariadb-dev libzmq3-dev
      libjson-c-dev libssl-dev libsodium-dev lighttpd lighttpd-mod-deflate redis-server
      redis-tools mariadb-server mariadb-client wrk clang libclang-rt-14-dev chromium
      curl procps iproute2 ca-certificates haproxy libgd-dev)
# the refund job's HTTP(S) client to the payment provider (lib/provider.c)
pkgs+=(libcurl4-openssl-dev)
norec=(cron)

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

need=($(missing "${pkgs[@]}"))
need_norec=($(missing "${norec[@]}"))
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ ${#need[@]} -gt 0 ] || [ ${#need_norec[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${need[*]} ${need_norec[*]}; run as root" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]} ${need_norec[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	[ ${#need[@]} -gt 0 ] && apt-get install -y -qq "${need[@]}" >/dev/null
	# cron's Recommends would pull in a mail server
	[ ${#need_norec[@]} -gt 0 ] && apt-get install -y -qq --no-install-recommends "${need_norec[@]}" >/dev/null
fi

# playwright-core drives Debian's chromium in the page tests; it downloads no browser
if [ ! -d tests/browser/node_modules/playwright-core ]; then
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
exit 0
