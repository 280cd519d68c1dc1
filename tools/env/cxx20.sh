#!/usr/bin/env bash
# Compiler wrapper for building mmcv 2.1.0 against torch >= 2.14: torch's
# headers need C++20 but mmcv's setup.py appends -std=c++17 last.
args=()
for a in "$@"; do
  if [ "$a" = "-std=c++17" ]; then args+=("-std=c++20"); else args+=("$a"); fi
done
exec "${REAL_CXX:-g++}" "${args[@]}"
