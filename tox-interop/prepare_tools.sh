#!/usr/bin/env bash
# Tools the tests drive besides the Python peers (prepare.sh): tmux, which TestShellTerminal
# (cmd/rpyc) uses as a real terminal for `rpyc shell`; openssh-server (sshd, with ssh-agent and
# ssh-keygen from openssh-client), which the sshtunnel tests start on a loopback port; etcd-server
# (/usr/bin/etcd), of which the registry's etcd tests start three-member clusters on loopback ports.
# Idempotent; `make test` runs it.
set -euo pipefail
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	# Debian's etcd-server may start a daemon on 2379: the tests never use it (they run their own).
	case " ${missing[*]} " in *" etcd-server "*) { systemctl disable --now etcd || service etcd stop; } >/dev/null 2>&1 || true ;; esac
	# Likewise openssh-server's sshd on port 22: the SSH tests start their own on loopback.
	case " ${missing[*]} " in *" openssh-server "*) { systemctl disable --now ssh || service ssh stop; } >/dev/null 2>&1 || true ;; esac
else
	echo "prepare_tools: missing ${missing[*]}: install them (apt-get install ${missing[*]}); the tests that need them skip (fail under CI=true)" >&2
fi
