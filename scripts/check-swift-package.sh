#!/bin/bash
# The Swift package as another package uses it: by version. A clone of this commit is tagged with
# VERSION, and a consumer package that depends on it with `from: "VERSION"` (the line the README
# shows) builds the README's Swift quick start and runs it twice: the count persists. SwiftPM
# refuses a dependency by version whose used targets carry unsafe flags, so this fails if the
# BotSession target gets one. (It builds the committed state: a clone sees no uncommitted change.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
swift="${SWIFT:-swift}"
version=$(cat VERSION)
work=$(mktemp -d /tmp/botsession-swiftpm-XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$root" "$work/botsession"
git -C "$work/botsession" tag "$version"
mkdir -p "$work/consumer/Sources/Consumer" "$work/run"
cat > "$work/consumer/Package.swift" <<SWIFT
// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Consumer",
    dependencies: [
        .package(url: "file://$work/botsession", from: "$version"),
    ],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "BotSession", package: "botsession")]),
    ]
)
SWIFT
cp examples/swift-quickstart/main.swift "$work/consumer/Sources/Consumer/main.swift"
"$swift" build --package-path "$work/consumer" > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
bin="$("$swift" build --package-path "$work/consumer" --show-bin-path)/Consumer"
first=$(cd "$work/run" && "$bin")
second=$(cd "$work/run" && "$bin")
[ "$first" = "chat 42 has sent 1 updates" ] && [ "$second" = "chat 42 has sent 2 updates" ] ||
    { echo "check-swift-package: the consumer printed '$first' then '$second'" >&2; exit 1; }
echo "check-swift-package: a package depending on BotSession from: \"$version\" (a tagged clone) builds and runs the quick start ('$first', then '$second')"
