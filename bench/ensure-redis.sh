#!/usr/bin/env bash
# Makes sure Debian's redis-server is installed: bench/python_roundtrip.py starts a private one
# (127.0.0.1, a free port, no persistence) for aiogram's RedisStorage baseline, and stops it.
# Installs it with apt-get when running as root (or through sudo), saying so; otherwise it says
# how and stops. The system service the package may set up is not used.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
echo "ensure-redis: redis-server is missing (aiogram's RedisStorage baseline of make bench needs it)"
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "ensure-redis: run as root, or install it yourself: apt-get install redis-server" >&2
    exit 1
fi
echo "ensure-redis: installing Debian's redis-server with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
echo "ensure-redis: installed redis-server"
