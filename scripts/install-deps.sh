#!/bin/sh
# Install every build and test dependency of vartrack-watcher (Debian 12).
# Idempotent: apt-get skips what is already installed.
# ZooKeeper's C client: the datasource worker links libzookeeper_mt, the
# supervisor's election libzookeeper_st. Their -dev packages conflict (both
# provide libzookeeper-dev, same headers), so this installs the mt one's and
# the st runtime library (CMake finds libzookeeper_st.so.2 by name).
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential cmake pkg-config git ca-certificates curl \
 libevent-dev libmongoc-dev libbson-dev libhiredis-dev libzookeeper-mt-dev libzookeeper-st2 \
 libcurl4-openssl-dev libssh2-1-dev libnng-dev libprotobuf-c-dev protobuf-c-compiler \
 libyaml-dev libcriterion-dev libgit2-dev libseccomp-dev libjansson-dev libexpat1-dev \
 redis-server redis-tools prometheus python3 python3-grpcio valgrind procps bc openssl \
 zookeeper openssh-server python3-kazoo python3-pymongo \
 clang libfuzzer-14-dev libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# node + npm run the Mongo-wire fake (tests/mongo-fake) and the S3 test
# server (tests/s3rver). Any node with npm will
# do (e.g. a NodeSource nodejs, which bundles npm and conflicts with Debian's
# npm package), so only install Debian's when npm is not there at all.
EXTRA_PKGS=""
command -v npm >/dev/null 2>&1 || EXTRA_PKGS="nodejs npm"
# kubectl checks the loopback kube-apiserver fake (test_configmap): Debian's
# kubernetes-client, unless a kubectl is there already (another package's
# /usr/bin/kubectl, e.g. Google Cloud SDK's, would conflict with it)
command -v kubectl >/dev/null 2>&1 || EXTRA_PKGS="$EXTRA_PKGS kubernetes-client"
if [ -n "$missing$EXTRA_PKGS" ]; then
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $PKGS $EXTRA_PKGS
fi
