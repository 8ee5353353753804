# Plots for scripts/scaling.sh. Run inside its output directory: reads vars.gp (which series
# exist, labels) and the *.dat files scaling.sh writes there; writes speedup.png,
# efficiency.png, phases.png and batch.png (each only when it has data).
load 'vars.gp'

set terminal pngcairo size 1200,640 noenhanced font 'DejaVu Sans,11'
set grid lc rgb '#dddddd'
set key top left box opaque
set border lc rgb '#444444'
nb = words(strong_binds)
nr = words(red_series)
# The first reduce strategy at bind0 is the strong-scaling bind0 line already: draw it once.
r1 = (nb > 0 && nr > 0 && word(strong_binds, 1) eq bind0) ? 2 : 1
# colours: strong per bind 1..3, weak 4, reduce strategies 5.., ideal grey
col(i) = word('#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #17becf', i)
# mark the core count when oversubscribed points are on the plot
if (tmax > ncores) {
    set arrow 1 from ncores + 0.5, graph 0 to ncores + 0.5, graph 1 nohead dt 3 lc rgb '#888888'
    set label 1 sprintf(' oversubscribed (> %d cores)', ncores + 0) at ncores + 0.5, graph 0.05 left tc rgb '#666666'
}

# The scaling curves of column c (2 = speedup, 3 = efficiency) as a plot-command tail; built
# with do-for because an empty plot iteration still makes gnuplot look for a file.
build_curves = "curves = ''; \
    do for [i=1:nb] { curves = curves . sprintf(\", 'strong_%s.dat' using 1:%d with linespoints lw 2 pt 7 lc rgb '%s' title 'strong, bind %s'\", word(strong_binds, i), c, col(i), word(strong_binds, i)) }; \
    if (has_weak) { curves = curves . sprintf(\", 'weak.dat' using 1:%d with linespoints lw 2 pt 5 dt 4 lc rgb '%s' title 'weak (scaled), bind %s'\", c, col(4), bind0) }; \
    do for [i=r1:nr] { curves = curves . sprintf(\", 'reduce_%s.dat' using 1:%d with linespoints lw 1.5 pt 4 dt 2 lc rgb '%s' title 'strong, reduce %s, bind %s'\", word(red_series, i), c, col(4 + i), word(red_series, i), bind0) }"

if (nb + has_weak + nr > 0) {
    set xrange [0.8 : tmax + 0.2]
    set xtics 1
    set xlabel 'threads'

    set output 'speedup.png'
    set title sprintf("%s\n%s", speedup_title, subtitle)
    set ylabel 'speedup (throughput / 1-thread throughput)'
    set yrange [0 : *]
    c = 2
    eval build_curves
    eval "plot x title 'ideal' lc rgb '#999999' dt 2 lw 1.5" . curves

    set output 'efficiency.png'
    set title sprintf("dpmlp parallel efficiency = speedup / threads\n%s", subtitle)
    set ylabel 'parallel efficiency'
    set yrange [0 : *]
    set offsets 0, 0, graph 0.1, 0
    set key outside right top
    c = 3
    eval build_curves
    eval "plot 1 title 'ideal' lc rgb '#999999' dt 2 lw 1.5" . curves
    set key inside top left
    unset offsets
    unset arrow 1
    unset label 1
}

if (has_phases) {
    set output 'phases.png'
    set title sprintf("dpmlp time per optimizer step by phase (worker 0; strong scaling, global batch %s, bind %s)\n%s", \
        strong_batch . '', bind0, subtitle)
    set xlabel 'threads'
    set ylabel 'milliseconds per step'
    set autoscale x
    set xtics autofreq
    set yrange [0 : *]
    set style data histograms
    set style histogram rowstacked
    set style fill solid 0.85 border rgb '#333333'
    set boxwidth 0.6
    set key outside right top
    plot 'phases.dat' using 2:xtic(1) lc rgb col(1) title 'forward (+ row gather)', \
         '' using 3 lc rgb col(2) title 'backward', \
         '' using 4 lc rgb col(3) title 'reduce', \
         '' using 5 lc rgb col(5) title 'update (optimizer)', \
         '' using 6 lc rgb '#bbbbbb' title 'wait (barriers, bookkeeping)'
    set style data points
    set key inside top left
}

nt = words(batch_threads)
if (nt > 0) {
    set title sprintf("dpmlp throughput vs global batch (bind %s; bars: min..max of repetitions)\n%s", \
        bind0, subtitle)
    set xlabel 'global batch (samples per optimizer step)'
    set ylabel 'thousand samples per second'
    set y2label sprintf('GFLOP/s (training: %.3g MFLOP per sample)', fps / 1e6)
    set logscale x 2
    set autoscale x
    set xtics autofreq
    set format x '%.0f'
    set yrange [0 : *]
    set ytics nomirror
    set key inside top left
    # Draw once to learn the y range, then give the GFLOP/s axis the same range in its own
    # units (a linked linear axis would copy the left axis' tic positions).
    set output '/dev/null'
    plot for [i=1:nt] 'batch_t'.word(batch_threads, i).'.dat' using 1:($2/1e3):($4/1e3):($5/1e3) \
         with yerrorlines notitle
    set yrange [0 : GPVAL_Y_MAX]
    set y2range [0 : GPVAL_Y_MAX * 1e3 * fps / 1e9]
    set y2tics
    set output 'batch.png'
    plot for [i=1:nt] 'batch_t'.word(batch_threads, i).'.dat' using 1:($2/1e3):($4/1e3):($5/1e3) \
         with yerrorlines lw 2 pt 7 lc rgb col(i) \
         title word(batch_threads, i).(word(batch_threads, i) eq '1' ? ' thread' : ' threads')
}
