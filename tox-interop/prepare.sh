#!/usr/bin/env bash
# prepare.sh: make both Python rpyc peers available, idempotently.
#
#   rpyc 5.3.0: Debian bookworm's python3-rpyc, installed with apt into /usr/lib/python3/dist-packages.
#   rpyc 6.0.1: Debian trixie's python3-rpyc .deb, fetched with `apt-get download` through a temporary
#               sources list (same archive as this machine's own apt sources, suite "trixie"), then
#               unpacked with `dpkg -x` into tox-interop/.peers/rpyc6 (git-ignored). It is pure Python
#               and runs under /usr/bin/python3 with PYTHONPATH=<that dir>/usr/lib/python3/dist-packages.
#
# Prints the two peer descriptions on success. Safe to run repeatedly.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
peers="$here/.peers"
py=/usr/bin/python3
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

have_rpyc5() { [ -x "$py" ] && "$py" -c 'import rpyc, sys; sys.exit(0 if rpyc.__version__.startswith("5.") else 1)' 2>/dev/null; }
rpyc6_path="$peers/rpyc6/usr/lib/python3/dist-packages"
have_rpyc6() { [ -x "$py" ] && PYTHONPATH="$rpyc6_path" "$py" -c 'import rpyc, sys; sys.exit(0 if rpyc.__version__.startswith("6.") else 1)' 2>/dev/null; }

apt_updated=""
apt_update() {
	if [ -z "$apt_updated" ]; then
		$sudo apt-get update -qq >/dev/null
		apt_updated=1
	fi
}

if ! have_rpyc5; then
	echo "prepare: installing Debian python3-rpyc (rpyc 5.x)" >&2
	apt_update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-rpyc >/dev/null
fi

if ! have_rpyc6; then
	echo "prepare: fetching Debian trixie python3-rpyc (rpyc 6.x)" >&2
	# Take the archive URI from the machine's own apt sources (deb822 or one-line format).
	uri=""
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^(https?|file|ftp):/) {print $i; exit}}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || { echo "prepare: cannot find a Debian archive URI in /etc/apt/sources*" >&2; exit 1; }

	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
	echo "deb $uri trixie main" >"$tmp/sources.list"
	aptopts=(-o "Dir::Etc::sourcelist=$tmp/sources.list" -o "Dir::Etc::sourceparts=-"
		-o "Dir::State::lists=$tmp/lists" -o "Dir::Cache::archives=$tmp/archives"
		-o "APT::Get::List-Cleanup=0" -o "Acquire::Languages=none" -o "APT::Sandbox::User=root")
	$sudo apt-get "${aptopts[@]}" update -qq >/dev/null
	(cd "$tmp" && $sudo apt-get "${aptopts[@]}" download -qq python3-rpyc >/dev/null)
	deb=$(ls "$tmp"/python3-rpyc_*.deb | head -n1)
	rm -rf "$peers/rpyc6"
	mkdir -p "$peers/rpyc6"
	dpkg -x "$deb" "$peers/rpyc6"
	basename "$deb" >"$peers/rpyc6/DEB"
fi

have_rpyc5 || { echo "prepare: rpyc 5.x still missing" >&2; exit 1; }
have_rpyc6 || { echo "prepare: rpyc 6.x still missing" >&2; exit 1; }
echo "rpyc5 $("$py" -c 'import rpyc; print(rpyc.__version__)') $py"
echo "rpyc6 $(PYTHONPATH="$rpyc6_path" "$py" -c 'import rpyc; print(rpyc.__version__)') $py PYTHONPATH=$rpyc6_path"
