#!/usr/bin/env zsh -f
# zsh_complete.zsh DIR LINE [DUMP]: the completions zsh offers at the end of
# LINE, one a line, with DIR (holding _poolrun) first in $fpath; DUMP is
# compinit's dump file (made on the first call, read fast by the next).  An interactive
# zsh on a pseudo-terminal (zpty) gets LINE and a TAB; its compadd is
# wrapped to print the matches it is given between two marker lines, and
# the completion widget exits the shell when it is done.
emulate -L zsh
zmodload zsh/zpty || exit 2
dir=$1 input=$2 dump=$3

zpty pr zsh -f -i || exit 2
zpty -w pr "PROMPT='' RPROMPT='' PS2=''; fpath=(${(q)dir} \$fpath)"
if [[ -n $dump ]]; then
  zpty -w pr "autoload -U compinit; compinit -u -d ${(q)dump}"
else
  zpty -w pr 'autoload -U compinit; compinit -u -D'
fi
zpty -w pr "bindkey '^I' complete-word; zstyle ':completion:*' insert-tab false"
# Marks: a line of their own, apart from what the terminal echoes.
zpty -w pr 'pr_mark() { print -r -- "@@$1@@" }'
zpty -w pr 'compprefuncs=(pr_begin); pr_begin() { pr_mark begin }'
zpty -w pr 'comppostfuncs=(pr_end); pr_end() { pr_mark end; exit }'
# Only the matches that fit what is typed: compadd -O leaves them in hits.
zpty -w pr 'compadd() {
  local -a hits
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  builtin compadd -O hits "$@"
  (( $#hits )) && print -rl -- "@@hit@@"${^hits}
  builtin compadd "$@"
}'
zpty -w -n pr "$input"$'\t'

in=0
while zpty -r pr line; do
  line=${line%$'\r\n'}
  line=${line%$'\n'}
  line=${line%$'\r'}
  case $line in
  *@@begin@@*) in=1 ;;
  *@@end@@*) (( in )) && break ;;
  *@@hit@@*) (( in )) && print -r -- ${line#*@@hit@@} ;;
  esac
done
zpty -d pr
