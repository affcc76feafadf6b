# macro-F1 (mean +- std over seeds) vs k, one line per model.
# gnuplot -e "datafile='...'; outfile='...'; n=<models>" f1_vs_k.gp
# datafile: one block per model, a quoted title line then "k mean std" lines,
# blocks separated by two blank lines.
set terminal pngcairo size 900,560 font ",11"
set output outfile
set title "Macro-F1 vs k (test split, mean ± std over seeds; generated traffic)"
set xlabel "k (packets per decision)"
set ylabel "macro-F1"
set logscale x 2
set xtics ("3" 3, "5" 5, "10" 10, "20" 20)
set xrange [2.6:23]
set yrange [*:1]
set key outside right top
set grid ytics
plot for [i=0:n-1] datafile index i using 1:2:3 with yerrorlines lw 2 pt 7 ps 1 title columnheader(1)
