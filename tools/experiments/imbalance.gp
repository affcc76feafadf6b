# Class imbalance: new-day macro-F1 per model for the three trainings.
# gnuplot -e "datafile='...'; outfile='...'" imbalance.gp
# datafile: "model" m1 s1 m2 s2 m3 s3
set terminal pngcairo size 900,520 font ",11"
set output outfile
set title "Class imbalance, k = 5: macro-F1 on the new day (mean ± std; generated traffic)"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set ylabel "macro-F1"
set yrange [0:1]
set grid ytics
set key top left
set xtics rotate by 15 right
plot datafile using 2:3:xtic(1) title "balanced sampling (seed)", \
     '' using 4:5 title "natural ratios", \
     '' using 6:7 title "natural + balanced weights"
