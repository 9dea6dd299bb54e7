" Filetype detection for .facs configuration files.
autocmd BufNewFile,BufRead *.facs setfiletype facs
