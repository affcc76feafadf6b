# macro-F1 vs reorder probability P at k = 5: per model, trained clean
# (dashed) and trained with --train-reorder P (solid).
# gnuplot -e "datafile='...'; outfile='...'; n=<blocks>" reorder.gp
set terminal pngcairo size 900,560 font ",11"
set output outfile
set title "Out-of-order packets, k = 5 (mean ± std over seeds; generated traffic)"
set xlabel "reorder probability P (adjacent swaps)"
set ylabel "macro-F1"
set xrange [-0.02:0.52]
set key outside right top
set grid ytics
plot for [i=0:n-1] datafile index i using 1:2:3 with yerrorlines lw 2 \
     lc (i / 2 + 1) dt 1 + (i % 2 == 0) pt 6 + (i % 2) title columnheader(1)
