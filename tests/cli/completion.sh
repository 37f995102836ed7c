#!/usr/bin/env bash
# `shopctl completion`: the bash script completes subcommands, sub-subcommands and options as
# a shell would ask it to; zsh and fish name every subcommand.   tests/cli/completion.sh BIN
set -uo pipefail
bin=${1:-./build/shopctl}
passed=0; failed=0
expect() {  # expect NAME WANTED-WORD WORDS...
  local name=$1 want=$2; shift 2
  local got
  got=$(bash -c 'source <("$0" completion bash); COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _shopctl; printf "%s\n" "${COMPREPLY[@]}"' "$bin" "$@")
  if grep -qx -- "$want" <<<"$got"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $name: wanted '$want' in: $(tr '\n' ' ' <<<"$got")"; fi
}
expect "a subcommand" run shopctl ru
expect "a subcommand, from nothing" chaos shopctl ""
expect "an option of run" --target shopctl run --ta
expect "an option after a value" --junit shopctl run scenarios/ --ju
expect "a sub-subcommand" add shopctl fault a
expect "an option of fault add" --target-service shopctl fault add --target-s
expect "serve's new options" --processes shopctl serve --proc
expect "a file for a value" scenarios shopctl run scen
# An option with a fixed set of values offers those values, not file names; so does the
# shell argument of `completion`.
expect "serve --log-level offers its levels" warn shopctl serve --log-level w
expect "graph --format offers its formats" dot shopctl graph --format d
expect "run --color offers its choices" never shopctl run --color n
expect "completion's shell argument" fish shopctl completion f
expect "a file after a flag" scenarios shopctl run --fail-fast scen
# Values that are words their command checks itself, not files: fault add's fault types,
# services and methods (the scenario vocabulary); a tag is a free word, so nothing.
expect "fault add --type offers the fault types" slow_body shopctl fault add --type s
expect "fault add --type offers every fault type" garbage shopctl fault add --type ""
expect "fault add --target-service offers the services" catalog shopctl fault add --target-service c
expect "fault add --from offers client" client shopctl fault add --from cl
expect "fault add --method offers the methods" DELETE shopctl fault add --method D
for opt in --tags --skip-tags; do
  got=$(bash -c 'source <("$0" completion bash); COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _shopctl; printf "%s\n" "${COMPREPLY[@]}"' "$bin" shopctl run "$opt" "")
  if [[ -z "$got" ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: run $opt offers no file names: got $(tr '\n' ' ' <<<"$got")"; fi
done
fish_out=$("$bin" completion fish)
if grep -q -- "-l quiet -d '[^']*'$" <<<"$fish_out" && grep -q -- "-l log-level .* -x -a 'debug info warn error off'" <<<"$fish_out"; then
  passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: fish marks flags as taking no value and lists a fixed set of values"; fi
if grep -q -- "-l type .* -x -a 'delay hang abort reset close garbage slow_body'" <<<"$fish_out" && grep -q -- "-l tags -d '[^']*' -x$" <<<"$fish_out"; then
  passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: fish offers fault types for fault add --type and no files for run --tags"; fi
# fish turns file completion off for the whole command; run and validate take paths, so their
# positionals get files back (`shopctl run scen<TAB>` offered nothing), fault clear's id not.
if grep -qx -- "complete -c shopctl -n '__fish_seen_subcommand_from run' -F" <<<"$fish_out" &&
   grep -qx -- "complete -c shopctl -n '__fish_seen_subcommand_from validate' -F" <<<"$fish_out" &&
   ! grep -q -- "from clear' -F" <<<"$fish_out"; then
  passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: fish completes files for run and validate"; fi
for shell in zsh fish; do
  out=$("$bin" completion "$shell")
  ok=1
  for sub in serve run validate graph fault load chaos version; do grep -q -- "$sub" <<<"$out" || ok=0; done
  if [[ $ok -eq 1 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $shell names every subcommand"; fi
done
# A file name with a space is one name: bash split it into two that do not exist (an outside
# probe), and zsh, through bashcompinit, the same.
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ctest" && touch "$work/ctest/my scenario.yaml" "$work/ctest/other.yaml"
abs_bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
got=$(cd "$work" && bash -c 'source <("$0" completion bash); COMP_WORDS=(shopctl run ctest/my); COMP_CWORD=2; _shopctl; printf "[%s]" "${COMPREPLY[@]}"' "$abs_bin")
if [[ "$got" == "[ctest/my scenario.yaml]" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: bash completes a file name with a space as one name: got $got"; fi
# zsh: the script loads in a zsh that has not run compinit (it failed: "command not found:
# compdef"), registers itself, and completes the same file as one name.
here=$(cd "$(dirname "$0")/../.." && pwd)
"$here/scripts/setup.sh" --shells >/dev/null 2>&1 || true
if command -v zsh >/dev/null; then
  got=$(cd "$work" && zsh -f -c 'source <("$0" completion zsh) || exit 1; print -r -- "${_comps[shopctl]}"' "$abs_bin" 2>&1)
  if [[ "$got" == *"-F _shopctl"* ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: the zsh script loads in a zsh without compinit: got $got"; fi
  got=$(cd "$work" && zsh -f -c 'source <("$0" completion zsh) || exit 1; COMP_WORDS=(shopctl run ctest/my); COMP_CWORD=2; words=($COMP_WORDS); CURRENT=3; PREFIX=ctest/my; compgen -o filenames -F _shopctl -- ctest/my | while IFS= read -r l; do printf "[%s]" "$l"; done' "$abs_bin" 2>&1)
  if [[ "$got" == "[ctest/my scenario.yaml]" ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: zsh completes a file name with a space as one name: got $got"; fi
else
  failed=$((failed + 1)); echo "FAIL: zsh is missing (scripts/setup.sh --shells installs it)"
fi
"$bin" completion tcsh >/dev/null 2>&1
if [[ $? -eq 1 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: an unknown shell is a usage error"; fi
echo "completion: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
