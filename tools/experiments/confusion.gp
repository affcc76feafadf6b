# Confusion matrices, one panel per model (rows = true class, columns =
# predicted; colour = share of the true class, number = flows).
# gnuplot -e "files='a.dat b.dat ...'; titles='A|B|...'; labels='L1,L2,...'; outfile='...'" confusion.gp
# each file: "col row share count" lines, a blank line after each row.
set terminal pngcairo size 1200,800 font ",10"
set output outfile
nf = words(files)
nl = 1 + strlen(labels) - strlen(system("printf '%s' '" . labels . "' | tr -d ,"))
label(i) = system(sprintf("printf '%%s' '%s' | cut -d, -f%d", labels, i + 1))
title(i) = system(sprintf("printf '%%s' '%s' | cut -d'|' -f%d", titles, i))
cols = nf > 3 ? 3 : nf
rows = (nf + cols - 1) / cols
set multiplot layout rows, cols title "Confusion matrices, k = 5 (test split, summed over seeds; generated traffic)"
set palette defined (0 "white", 1 "#2171b5")
set cbrange [0:1]
unset colorbox
set xrange [-0.5:nl - 0.5]
set yrange [nl - 0.5:-0.5]
set xtics () rotate by 30 right
set ytics ()
do for [i=0:nl-1] { set xtics add (label(i) i); set ytics add (label(i) i) }
set xlabel "predicted"
set ylabel "true"
do for [f=1:nf] {
    set title title(f)
    plot word(files, f) using 1:2:3 with image notitle, \
         '' using 1:2:(sprintf("%d", $4)) with labels font ",9" notitle
}
unset multiplot
