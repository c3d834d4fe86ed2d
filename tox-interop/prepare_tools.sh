#!/usr/bin/env bash
# Tools the tests drive besides the Python peers (prepare.sh): tmux, which TestShellTerminal
# (cmd/rpyc) uses as a real terminal for `rpyc shell`. Idempotent; `make test` runs it.
set -euo pipefail
if command -v tmux >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
else
	echo "prepare_tools: tmux is missing: install it (apt-get install tmux); TestShellTerminal skips without it (fails under CI=true)" >&2
fi
