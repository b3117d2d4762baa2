#!/usr/bin/env bash
# Regenerates completions/ from the CLI definition (a test fails when stale).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/webtier
mkdir -p completions
"$bin" completions bash > completions/webtier.bash
"$bin" completions zsh > completions/_webtier
"$bin" completions fish > completions/webtier.fish
"$bin" completions elvish > completions/webtier.elv
"$bin" completions powershell > completions/_webtier.ps1
