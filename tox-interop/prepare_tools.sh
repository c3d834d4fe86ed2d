#!/usr/bin/env bash
# Tools the tests drive besides the Python peers (prepare.sh): tmux, which TestShellTerminal
# (cmd/rpyc) uses as a real terminal for `rpyc shell`; openssh-server (sshd, with ssh-agent and
# ssh-keygen from openssh-client), which the sshtunnel tests start on a loopback port.
# Idempotent; `make test` runs it.
set -euo pipefail
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
	echo "prepare_tools: missing ${missing[*]}: install them (apt-get install ${missing[*]}); the tests that need them skip (fail under CI=true)" >&2
fi
