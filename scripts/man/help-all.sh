#!/usr/bin/env bash
# What help2man reads to write dpmlp(1): `dpmlp --help` followed by every command's --help as
# a section of its own, so the man page is made from the very texts the binary prints. The
# commands are those the top-level --help lists; their group lines ("data", "model" ...)
# become subsections. The Makefile copies this file to build/man/dpmlp (help2man names the
# page after the program) and sets DPMLP_BIN to the real binary.
set -euo pipefail
bin=${DPMLP_BIN:?DPMLP_BIN must name the dpmlp binary}
case "${1:-}" in
--version)
    "$bin" --version
    ;;
--help)
    # help2man makes a subsection of a line ending in ':' followed by an indented one.
    subsections() { sed -E 's/^([a-z][a-z ]*[a-z])$/\1:/'; }
    top=$("$bin" --help)
    printf '%s\n' "$top" | subsections
    # "commands" then indented "  name  what it does" lines, up to the first blank line.
    cmds=$(printf '%s\n' "$top" | awk '/^commands/ { on = 1; next } on && /^$/ { exit }
                                       on && /^  [a-z]/ { print $1 }')
    for c in $cmds; do
        printf '\n*dpmlp %s*\n' "$c"
        "$bin" "$c" --help | subsections
    done
    ;;
*)
    echo "usage: DPMLP_BIN=build/dpmlp $0 --help|--version" >&2
    exit 64
    ;;
esac
