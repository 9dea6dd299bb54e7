#!/usr/bin/env bash
# Vim test for editors/vim: runs a real headless Vim with only editors/vim added to
# 'runtimepath' (no user vimrc), opens every sample named in positions.txt and checks
#   - that ftdetect sets the filetype to facs, that the ftplugin ran
#     (commentstring, b:undo_ftplugin) and that syntax/facs.vim is loaded;
#   - at each position of positions.txt with a Vim group, that
#     synIDattr(synID(line, col, 1), "name") is that group.
# Prints each failure and, last, `RESULT passed=N failed=M` (run.sh adds these up).
# Exit status: 0 when everything passed.

set -u

here="$(cd "$(dirname "$0")" && pwd)"
vim_dir="$(cd "$here/../vim" && pwd)"

if ! command -v vim >/dev/null 2>&1; then
  echo "FAIL vim is not installed"
  echo "RESULT passed=0 failed=1"
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat >"$work/check.vim" <<'VIM'
let s:out = []
let s:passed = 0
let s:failed = 0

function! s:Check(ok, message) abort
  if a:ok
    let s:passed += 1
  else
    let s:failed += 1
    call add(s:out, 'FAIL ' . a:message)
  endif
endfunction

try
  let s:rows = []
  let s:row_idx = 0
  for s:raw in readfile($FACS_TESTS . '/positions.txt')
    let s:row_idx += 1
    if s:raw =~# '^\s*\%(#.*\)\=$'
      continue
    endif
    let s:fields = split(s:raw)
    call add(s:rows, {'where': 'positions.txt:' . s:row_idx, 'sample': s:fields[0],
          \ 'line': str2nr(s:fields[1]), 'col': str2nr(s:fields[2]),
          \ 'text': s:fields[3], 'group': s:fields[5]})
  endfor

  let s:samples = uniq(sort(map(copy(s:rows), 'v:val.sample')))
  for s:sample in s:samples
    execute 'edit ' . fnameescape($FACS_TESTS . '/samples/' . s:sample)
    call s:Check(&filetype ==# 'facs', s:sample . ': filetype is "' . &filetype . '", expected "facs" (ftdetect)')
    call s:Check(&commentstring ==# '// %s', s:sample . ': commentstring is "' . &commentstring . '" (ftplugin)')
    call s:Check(exists('b:undo_ftplugin'), s:sample . ': b:undo_ftplugin is not set (ftplugin)')
    call s:Check(get(b:, 'current_syntax', '') ==# 'facs', s:sample . ': b:current_syntax is not "facs" (syntax)')
    for s:row in filter(copy(s:rows), 'v:val.sample ==# s:sample && v:val.group !=# "-"')
      let s:label = s:row.where . ': ' . s:sample . ':' . s:row.line . ':' . s:row.col . ' "' . s:row.text . '"'
      let s:line = getline(s:row.line)
      if strpart(s:line, s:row.col - 1, strlen(s:row.text)) !=# s:row.text
        call s:Check(0, s:label . ': the sample no longer has this text here (line is "' . s:line . '")')
        continue
      endif
      let s:name = synIDattr(synID(s:row.line, s:row.col, 1), 'name')
      let s:stack = join(map(synstack(s:row.line, s:row.col), 'synIDattr(v:val, "name")'), ' > ')
      call s:Check(s:name ==# s:row.group, s:label . ': expected ' . s:row.group . ', got "' . s:name . '" (stack: ' . s:stack . ')')
    endfor
  endfor
catch
  call s:Check(0, 'vim script error: ' . v:exception . ' at ' . v:throwpoint)
endtry

call add(s:out, 'vim: ' . s:passed . ' passed, ' . s:failed . ' failed')
call add(s:out, 'RESULT passed=' . s:passed . ' failed=' . s:failed)
call writefile(s:out, $FACS_RESULT)
qall!
VIM

FACS_TESTS="$here" FACS_RESULT="$work/result.txt" \
  vim -N -u NONE -i NONE -n -es \
    -c "set runtimepath^=$vim_dir" \
    -c 'filetype plugin on' \
    -c 'syntax on' \
    -c "source $work/check.vim" </dev/null >"$work/vim.log" 2>&1
vim_status=$?

if [ ! -s "$work/result.txt" ]; then
  echo "FAIL vim exited with status $vim_status without writing results:"
  sed 's/^/  /' "$work/vim.log"
  echo "RESULT passed=0 failed=1"
  exit 1
fi

cat "$work/result.txt"
grep -q '^RESULT passed=[0-9]* failed=0$' "$work/result.txt"
