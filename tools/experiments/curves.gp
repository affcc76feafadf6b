# Training curves: validation macro-F1 (left) and training loss (right) per
# epoch, one line per model (earlyflow train --curve TSV: epoch loss f1 acc).
# gnuplot -e "files='a.tsv ...'; titles='A|B|...'; outfile='...'" curves.gp
set terminal pngcairo size 1200,500 font ",11"
set output outfile
nf = words(files)
title(i) = system(sprintf("printf '%%s' '%s' | cut -d'|' -f%d", titles, i))
set multiplot layout 1, 2 title "Training curves, k = 5, seed 1 (generated traffic)"
set key bottom right
set grid
set xlabel "epoch"
set ylabel "validation macro-F1"
plot for [f=1:nf] word(files, f) using 1:3 every ::1 with lines lw 2 title title(f)
set ylabel "training loss"
set key top right
plot for [f=1:nf] word(files, f) using 1:2 every ::1 with lines lw 2 title title(f)
unset multiplot
