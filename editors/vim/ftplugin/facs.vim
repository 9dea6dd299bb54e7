" Vim filetype plugin for .facs configuration files.
" Language: facs

if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

let s:cpo_save = &cpo
set cpo&vim

" `//` comments; `///` doc comments (attached to the next declaration or field)
" are listed first so that `gq` and `o` keep the third slash.
setlocal commentstring=//\ %s
setlocal comments=s1:/*,mb:*,ex:*/,:///,://
" Wrap comments at 'textwidth' and continue them on <Enter> and `o`, but never
" wrap code; `j` removes the leader when joining comment lines.
setlocal formatoptions-=t formatoptions+=croqlj
" Names may contain `-` (`dev-db`), so make it part of a word for `w`, `*` and
" completion.
setlocal iskeyword+=-
setlocal suffixesadd=.facs

let b:undo_ftplugin = 'setlocal commentstring< comments< formatoptions< iskeyword< suffixesadd<'

let &cpo = s:cpo_save
unlet s:cpo_save
