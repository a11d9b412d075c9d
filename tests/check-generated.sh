#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every visible option of every command's --help must reach the generated bash
# completion, zsh and fish completions and that command's man page: they are all
# generated from the same option tables, and this proves it stays so.
# Usage: check-generated.sh PATH/TO/nono
set -u
nono=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
"$nono" __generate bash >"$tmp/bash" || { echo "generate bash failed"; exit 1; }
"$nono" __generate zsh >"$tmp/zsh" || { echo "generate zsh failed"; exit 1; }
"$nono" __generate fish >"$tmp/fish" || { echo "generate fish failed"; exit 1; }
bash -n "$tmp/bash" || { echo "bash completion does not parse"; fail=1; }
if command -v zsh >/dev/null; then zsh -n "$tmp/zsh" || { echo "zsh completion does not parse"; fail=1; }; fi
if command -v fish >/dev/null; then fish -n "$tmp/fish" || { echo "fish completion does not parse"; fail=1; }; fi
for cmd in run shell wrap why learn setup; do
	"$nono" __generate man "$cmd" >"$tmp/man" || { echo "generate man $cmd failed"; fail=1; continue; }
	# man writes '-' as '\-'; undo that to compare with --help.
	sed 's/\\-/-/g' "$tmp/man" >"$tmp/man.txt"
	opts=$("$nono" "$cmd" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+')
	[ -n "$opts" ] || { echo "no options found in 'nono $cmd --help'"; fail=1; }
	for o in $opts; do
		grep -qF -- "$o" "$tmp/bash" || { echo "bash completion lacks '$o' ($cmd)"; fail=1; }
		grep -qF -- "${o#--}" "$tmp/fish" || { echo "fish completion lacks '$o' ($cmd)"; fail=1; }
		grep -qF -- "$o" "$tmp/zsh" || { echo "zsh completion lacks '$o' ($cmd)"; fail=1; }
		grep -qF -- "$o" "$tmp/man.txt" || { echo "man page nono-$cmd lacks '$o'"; fail=1; }
	done
done
# Hidden aliases stay out.
if grep -qF -- '--override-deny' "$tmp/bash"; then echo "hidden '--override-deny' leaked"; fail=1; fi
if grep -qE -- "compgen -W '[^']*__generate|^\s*__generate\)" "$tmp/bash"; then echo "hidden command leaked"; fail=1; fi
[ $fail -eq 0 ] && echo "generated completions and man pages cover every option"
exit $fail
