#!/usr/bin/env bash
# subcommand_help.sh PROGRAM OUT: a help2man include file holding `PROGRAM <command> --help` for every
# command PROGRAM's --help lists under "Commands:" (command words first, two spaces before the text),
# so the man page of a tool with subcommands carries every command's options.
set -euo pipefail
prog=${1:?usage: subcommand_help.sh PROGRAM OUT}
out=${2:?usage: subcommand_help.sh PROGRAM OUT}
name=$(basename "$prog")
roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
  echo "[COMMANDS]"
  "$prog" --help | sed -n '/^Commands:/,/^$/p' | sed '1d;/^$/d;/  the same as /d' | sed -E 's/^ +//; s/  +.*//' |
    while read -r -a words; do
      cmd=()
      for w in "${words[@]}"; do [[ $w =~ ^[a-z][a-z-]*$ ]] || break; cmd+=("$w"); done
      ((${#cmd[@]})) && echo "${cmd[*]}"
    done | awk '!seen[$0]++' |
    while read -r -a cmd; do
      echo ".SS \"$name ${cmd[*]}\""
      echo ".nf"
      "$prog" "${cmd[@]}" --help | roff
      echo ".fi"
    done
} > "$out.tmp"
mv "$out.tmp" "$out"
