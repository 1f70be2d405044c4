package dev.stasis.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Renders results: a console table after each run, and {@code results.md} plus a self-contained
 * {@code results.html} (inline SVG charts, no scripts, no external resources) from every saved run.
 */
final class Report {

    private static final String[] PHASES = {"engine.suspend", "floor.write", "engine.resume", "floor.claim"};
    private static final String[] COLORS = {"#1f77b4", "#aec7e8", "#d62728", "#ff9896", "#2ca02c", "#98df8a"};

    private Report() {}

    // ------------------------------------------------------------------ console

    static String console(RunResult r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%n== %s  flows %,d  concurrency %d  state %,d B  gzip %d  %s ==%n",
                r.store(), r.flows(), r.concurrency(), r.stateBytes(), r.gzipLevel(), r.cipher()));
        if (!r.flowName().equals("approval")) {
            b.append("flow: ").append(r.flowName()).append(String.format(Locale.ROOT, "%n"));
        }
        if (r.roundCount() > 1) {
            b.append(String.format(Locale.ROOT, "%d rounds of %,d flows, alternating engine first and floor first;"
                    + " ops/s and ratios are medians over rounds, latencies cover every round%n", r.roundCount(),
                    r.flows()));
        }
        b.append(String.format(Locale.ROOT, "%-15s %9s %6s %8s %10s %8s %8s %8s %8s  %s%n", "phase", "ops", "errors",
                "seconds", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "store calls/op, time in store"));
        for (PhaseResult p : r.phases()) {
            b.append(String.format(Locale.ROOT, "%-15s %,9d %6d %8.2f %,10.0f %8.3f %8.3f %8.3f %8.2f  %s%n", p.name(),
                    p.ops(), p.errors(), p.seconds(), p.throughput(), p.p50(), p.p95(), p.p99(), p.max(),
                    callsPerOp(p)));
        }
        if (r.floorDescription() != null) {
            b.append(String.format(Locale.ROOT, "floor: %s%nengine/floor throughput: suspend %s, resume %s%n",
                    r.floorDescription(), ratio(r.ratioSuspend(), r.roundRatiosSuspend()),
                    ratio(r.ratioResume(), r.roundRatiosResume())));
        }
        b.append(String.format(Locale.ROOT, "heap used after GC: before %s, all %,d suspended %s, after resume %s%n",
                Heap.mib(r.heapBefore()), r.flows(), Heap.mib(r.heapSuspended()), Heap.mib(r.heapAfter())));
        b.append(String.format(Locale.ROOT, "bytes per suspended flow: %,.0f (%s); sealed state %,.0f B%n",
                r.bytesPerFlow(), r.bytesMethod(), r.meanSealedBytes()));
        for (PhaseResult p : r.phases()) {
            if (p.firstError() != null) {
                b.append("first error in ").append(p.name()).append(": ").append(p.firstError()).append('\n');
            }
        }
        return b.toString();
    }

    static String console(SuspendedResult r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%n== %s  --suspended %,d  concurrency %d  state %,d B ==%n", r.store(),
                r.suspended(), r.concurrency(), r.stateBytes()));
        for (PhaseResult p : List.of(r.fill(), r.resume(), r.query())) {
            b.append(String.format(Locale.ROOT, "%-16s %,9d ops %6d errors %8.1f s %,10.0f ops/s  p50 %.3f  p95 %.3f"
                    + "  p99 %.3f  max %.2f ms%n", p.name(), p.ops(), p.errors(), p.seconds(), p.throughput(), p.p50(),
                    p.p95(), p.p99(), p.max()));
        }
        b.append(String.format(Locale.ROOT, "cleanup: %,d of %,d expired flows deleted in %.2f s (%,.0f/s)%n",
                r.cleanupDeleted(), r.expiredCreated(), r.cleanupSeconds(),
                r.cleanupSeconds() > 0 ? r.cleanupDeleted() / r.cleanupSeconds() : 0));
        b.append(String.format(Locale.ROOT, "heap used after GC: min %s, max %s over %d samples%n",
                Heap.mib(heapMin(r)), Heap.mib(heapMax(r)), r.heap().size()));
        b.append(String.format(Locale.ROOT, "bytes per suspended flow: %,.0f (%s)%n", r.bytesPerFlow(), r.bytesMethod()));
        return b.toString();
    }

    private static long heapMin(SuspendedResult r) {
        return r.heap().stream().mapToLong(SuspendedResult.HeapSample::usedAfterGc).min().orElse(0);
    }

    private static long heapMax(SuspendedResult r) {
        return r.heap().stream().mapToLong(SuspendedResult.HeapSample::usedAfterGc).max().orElse(0);
    }

    private static String callsPerOp(PhaseResult p) {
        if (p.storeCalls().isEmpty() || p.ops() == 0) return "";
        String calls = p.storeCalls().entrySet().stream()
                .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue() / (double) p.ops()))
                .collect(Collectors.joining(", "));
        return p.storeShare() < 0 ? calls : String.format(Locale.ROOT, "%s; %.0f%% in store", calls, p.storeShare() * 100);
    }

    // ------------------------------------------------------------------ files

    /** Re-renders results.md and results.html from every saved run in {@code dir}. */
    static void regenerate(Path dir) {
        List<RunResult> runs = ResultFiles.latestLoadRuns(dir);
        List<SuspendedResult> suspended = ResultFiles.latestSuspendedRuns(dir);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("results.md"), markdown(runs, suspended));
            Files.writeString(dir.resolve("results.html"), html(runs, suspended));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String f0(double v) {
        return String.format(Locale.ROOT, "%,.0f", v);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String ratio(double v) {
        return v < 0 ? "—" : String.format(Locale.ROOT, "%.2f×", v);
    }

    /** A median ratio, with the range of the rounds' ratios when there were several. */
    static String ratio(double median, @Nullable List<Double> rounds) {
        if (median < 0 || rounds == null || rounds.size() < 2) {
            return ratio(median);
        }
        return ratio(median) + String.format(Locale.ROOT, " (%.2f–%.2f)", Collections.min(rounds),
                Collections.max(rounds));
    }

    private static String storeLabel(RunResult r) {
        return r.flowName().equals("approval") ? r.store() : r.store() + " (" + r.flowName() + ")";
    }

    private static String label(RunResult r) {
        return storeLabel(r) + " c" + r.concurrency() + (r.stateBytes() == 1024 ? "" : " " + r.stateBytes() / 1024 + "K");
    }

    /** The tables, as rows of cells (the first row is the header), shared by Markdown and HTML. */
    private static List<List<String>> throughputTable(List<RunResult> runs) {
        List<List<String>> t = new ArrayList<>();
        t.add(List.of("store", "conc.", "state", "flows × rounds", "engine suspend/s", "floor write/s", "ratio",
                "engine resume/s", "floor claim/s", "ratio", "errors"));
        for (RunResult r : runs) {
            PhaseResult es = r.phase("engine.suspend");
            PhaseResult er = r.phase("engine.resume");
            PhaseResult fw = r.phase("floor.write");
            PhaseResult fc = r.phase("floor.claim");
            long errors = r.phases().stream().mapToLong(PhaseResult::errors).sum();
            t.add(List.of(storeLabel(r), String.valueOf(r.concurrency()), r.stateBytes() + " B",
                    f0(r.flows()) + " × " + r.roundCount(),
                    es == null ? "—" : f0(es.throughput()), fw == null ? "—" : f0(fw.throughput()),
                    ratio(r.ratioSuspend(), r.roundRatiosSuspend()), er == null ? "—" : f0(er.throughput()),
                    fc == null ? "—" : f0(fc.throughput()), ratio(r.ratioResume(), r.roundRatiosResume()),
                    String.valueOf(errors)));
        }
        return t;
    }

    private static List<List<String>> latencyTable(List<RunResult> runs) {
        List<List<String>> t = new ArrayList<>();
        t.add(List.of("store", "conc.", "phase", "p50 ms", "p95 ms", "p99 ms", "max ms", "store calls per op",
                "time in store"));
        for (RunResult r : runs) {
            for (String name : PHASES) {
                PhaseResult p = r.phase(name);
                if (p == null) continue;
                String calls = p.storeCalls().entrySet().stream()
                        .map(e -> e.getKey() + " " + f2(e.getValue() / (double) Math.max(1, p.ops())))
                        .collect(Collectors.joining(", "));
                t.add(List.of(storeLabel(r), String.valueOf(r.concurrency()), name, f3(p.p50()), f3(p.p95()), f3(p.p99()),
                        f2(p.max()), calls.isEmpty() ? "—" : calls,
                        p.storeShare() < 0 ? "—" : String.format(Locale.ROOT, "%.0f %%", p.storeShare() * 100)));
            }
        }
        return t;
    }

    private static List<List<String>> memoryTable(List<RunResult> runs) {
        List<List<String>> t = new ArrayList<>();
        t.add(List.of("store", "conc.", "flows", "heap before", "heap, all suspended", "heap after resume",
                "bytes / suspended flow", "sealed state", "how bytes were measured"));
        for (RunResult r : runs) {
            t.add(List.of(storeLabel(r), String.valueOf(r.concurrency()), f0(r.flows()), Heap.mib(r.heapBefore()),
                    Heap.mib(r.heapSuspended()), Heap.mib(r.heapAfter()), f0(r.bytesPerFlow()),
                    f0(r.meanSealedBytes()) + " B", r.bytesMethod()));
        }
        return t;
    }

    private static List<List<String>> suspendedTable(List<SuspendedResult> runs) {
        List<List<String>> t = new ArrayList<>();
        t.add(List.of("store", "suspended flows", "fill/s", "resume p50/p95/p99 ms", "resume/s",
                "query page p50/p99 ms", "cleanup", "heap after GC min–max", "bytes / flow"));
        for (SuspendedResult r : runs) {
            t.add(List.of(r.store(), f0(r.suspended()), f0(r.fill().throughput()),
                    f3(r.resume().p50()) + " / " + f3(r.resume().p95()) + " / " + f3(r.resume().p99()),
                    f0(r.resume().throughput()), f3(r.query().p50()) + " / " + f3(r.query().p99()),
                    String.format(Locale.ROOT, "%,d in %.1f s (%,.0f/s)", r.cleanupDeleted(), r.cleanupSeconds(),
                            r.cleanupSeconds() > 0 ? r.cleanupDeleted() / r.cleanupSeconds() : 0),
                    Heap.mib(heapMin(r)) + " – " + Heap.mib(heapMax(r)),
                    r.bytesPerFlow() < 0 ? "—" : f0(r.bytesPerFlow())));
        }
        return t;
    }

    private static String mdTable(List<List<String>> rows) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < rows.size(); i++) {
            b.append("| ").append(rows.get(i).stream().map(c -> c.replace("|", "\\|")).collect(Collectors.joining(" | ")))
                    .append(" |\n");
            if (i == 0) {
                b.append("|").append("---|".repeat(rows.get(0).size())).append('\n');
            }
        }
        return b.toString();
    }

    private static String machines(List<RunResult> runs, List<SuspendedResult> suspended) {
        List<String> m = new ArrayList<>();
        runs.forEach(r -> m.add(r.machine()));
        suspended.forEach(r -> m.add(r.machine()));
        return m.stream().distinct().collect(Collectors.joining("; "));
    }

    static String markdown(List<RunResult> runs, List<SuspendedResult> suspended) {
        StringBuilder b = new StringBuilder();
        b.append("# Stasis benchmark results\n\n");
        b.append("Generated ").append(Instant.now().toString(), 0, 19).append("Z by `stasis-bench.jar report` from ")
                .append("the JSON files in `runs/` (latest run of each configuration).\n\n");
        b.append("Machine: ").append(machines(runs, suspended)).append("\n\n");
        b.append("Engine: `PersistenceHub` with AES-256-GCM and gzip on (level and cipher per run below); each flow "
                + "suspends on one await and completes when resumed. Floor: the raw store operations, same payload "
                + "size and concurrency, same process, same run. See `bench/README.md` for what each figure means.\n\n");
        b.append("## Throughput: engine vs floor\n\n").append(mdTable(throughputTable(runs))).append('\n');
        b.append("## Latency\n\n").append(mdTable(latencyTable(runs))).append('\n');
        b.append("## Heap and storage\n\n").append(mdTable(memoryTable(runs))).append('\n');
        if (!suspended.isEmpty()) {
            b.append("## Full store (`--suspended`)\n\n").append(mdTable(suspendedTable(suspended))).append('\n');
            for (SuspendedResult r : suspended) {
                b.append("Heap samples (").append(r.store()).append("): ")
                        .append(r.heap().stream().map(h -> f0(h.storedFlows()) + " → " + Heap.mib(h.usedAfterGc()))
                                .collect(Collectors.joining(", ")))
                        .append("\n\n");
            }
        }
        b.append("## Runs\n\n");
        for (RunResult r : runs) {
            b.append("- ").append(r.timestamp(), 0, 19).append("Z ").append(label(r)).append(": `")
                    .append(r.command()).append("` — ").append(r.storeDescription()).append('\n');
        }
        for (SuspendedResult r : suspended) {
            b.append("- ").append(r.timestamp(), 0, 19).append("Z ").append(r.store()).append(" --suspended: `")
                    .append(r.command()).append("` — ").append(r.storeDescription()).append('\n');
        }
        return b.toString();
    }

    // ------------------------------------------------------------------ HTML

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String htmlTable(List<List<String>> rows) {
        StringBuilder b = new StringBuilder("<table>\n<tr>");
        rows.get(0).forEach(c -> b.append("<th>").append(esc(c)).append("</th>"));
        b.append("</tr>\n");
        for (List<String> row : rows.subList(1, rows.size())) {
            b.append("<tr>");
            row.forEach(c -> b.append("<td>").append(esc(c)).append("</td>"));
            b.append("</tr>\n");
        }
        return b.append("</table>\n").toString();
    }

    /**
     * A grouped bar chart as inline SVG.
     *
     * @param values values[group][series]; NaN or non-positive values are left out
     * @param log log10 scale (for latencies)
     */
    static String bars(String title, String unit, List<String> groups, List<String> series, double[][] values,
            boolean log) {
        int groupWidth = Math.max(60, series.size() * 16 + 20);
        int left = 70;
        int plotH = 260;
        int top = 40;
        int width = left + groups.size() * groupWidth + 20;
        int height = top + plotH + 70 + 18 * ((series.size() + 2) / 3);
        double max = 0;
        double min = Double.MAX_VALUE;
        for (double[] g : values) {
            for (double v : g) {
                if (v > 0 && !Double.isNaN(v)) {
                    max = Math.max(max, v);
                    min = Math.min(min, v);
                }
            }
        }
        if (max <= 0) max = 1;
        double lo;
        double hi;
        if (log) {
            lo = Math.floor(Math.log10(Math.min(min, max)));
            hi = Math.ceil(Math.log10(max));
            if (hi <= lo) hi = lo + 1;
        } else {
            lo = 0;
            hi = niceCeil(max);
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n", width, height, width, height));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>%n",
                left, esc(title)));
        int ticks = log ? (int) (hi - lo) : 5;
        for (int i = 0; i <= ticks; i++) {
            double frac = i / (double) ticks;
            double y = top + plotH - frac * plotH;
            double v = log ? Math.pow(10, lo + i) : hi * frac;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", left, width - 20, y, y, left - 6,
                    y + 4, esc(tick(v))));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" "
                + "text-anchor=\"middle\">%s</text>%n", top + plotH / 2, top + plotH / 2, esc(unit)));
        for (int g = 0; g < groups.size(); g++) {
            int gx = left + g * groupWidth + 10;
            for (int s = 0; s < series.size(); s++) {
                double v = values[g][s];
                if (!(v > 0)) continue;
                double frac = log ? (Math.log10(v) - lo) / (hi - lo) : v / hi;
                frac = Math.max(0, Math.min(1, frac));
                double h = frac * plotH;
                b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"%.1f\" "
                        + "fill=\"%s\"><title>%s, %s: %s %s</title></rect>%n", gx + s * 16, top + plotH - h, h,
                        COLORS[s % COLORS.length], esc(groups.get(g)), esc(series.get(s)), esc(tick(v)), esc(unit)));
            }
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    gx + series.size() * 8, top + plotH + 16, esc(groups.get(g))));
        }
        for (int s = 0; s < series.size(); s++) {
            int lx = left + (s % 3) * 190;
            int ly = top + plotH + 40 + (s / 3) * 18;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", lx, ly - 10, COLORS[s % COLORS.length], lx + 16, ly,
                    esc(series.get(s))));
        }
        return b.append("</svg>\n").toString();
    }

    private static double niceCeil(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) return m * p;
        }
        return 10 * p;
    }

    private static String tick(double v) {
        if (v >= 1000) return String.format(Locale.ROOT, "%,.0f", v);
        if (v >= 1) return String.format(Locale.ROOT, "%.4g", v).replaceAll("\\.?0+$", "");
        return String.format(Locale.ROOT, "%.3g", v);
    }

    static String html(List<RunResult> runs, List<SuspendedResult> suspended) {
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stasis benchmark results"
                + "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:"
                + "collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}"
                + "th{background:#f4f4f4}td:first-child{text-align:left}svg{margin:1em 0;display:block}</style>"
                + "</head><body>\n");
        b.append("<h1>Stasis benchmark results</h1>\n<p>Generated ").append(esc(Instant.now().toString().substring(0, 19)))
                .append("Z. Machine: ").append(esc(machines(runs, suspended))).append("</p>\n");
        b.append("<p>Engine: <code>PersistenceHub</code> with AES-256-GCM and gzip on; each flow suspends on one await "
                + "and completes when resumed. Floor: the raw store operations with the same payload size and "
                + "concurrency, measured in the same run.</p>\n");
        List<String> groups = runs.stream().map(Report::label).toList();
        double[][] tput = new double[runs.size()][];
        double[][] suspendLat = new double[runs.size()][];
        double[][] resumeLat = new double[runs.size()][];
        for (int i = 0; i < runs.size(); i++) {
            RunResult r = runs.get(i);
            tput[i] = new double[PHASES.length];
            for (int k = 0; k < PHASES.length; k++) {
                PhaseResult p = r.phase(PHASES[k]);
                tput[i][k] = p == null ? Double.NaN : p.throughput();
            }
            suspendLat[i] = percentiles(r.phase("engine.suspend"), r.phase("floor.write"));
            resumeLat[i] = percentiles(r.phase("engine.resume"), r.phase("floor.claim"));
        }
        b.append("<h2>Throughput: engine vs floor</h2>\n");
        b.append(bars("Throughput (operations per second, higher is better)", "ops/s", groups,
                List.of("engine suspend", "floor write", "engine resume", "floor claim"), tput, false));
        b.append(htmlTable(throughputTable(runs)));
        b.append("<h2>Latency percentiles</h2>\n");
        List<String> pct = List.of("engine p50", "engine p95", "engine p99", "floor p50", "floor p95", "floor p99");
        b.append(bars("Suspend latency (ms, log scale): engine start→suspended vs floor write", "ms", groups, pct,
                suspendLat, true));
        b.append(bars("Resume latency (ms, log scale): engine resume→completed vs floor claim", "ms", groups, pct,
                resumeLat, true));
        b.append(htmlTable(latencyTable(runs)));
        b.append("<h2>Heap and storage</h2>\n").append(htmlTable(memoryTable(runs)));
        if (!suspended.isEmpty()) {
            b.append("<h2>Full store (--suspended)</h2>\n").append(htmlTable(suspendedTable(suspended)));
            for (SuspendedResult r : suspended) {
                List<String> labels = r.heap().stream().map(h -> compact(h.storedFlows())).toList();
                double[][] heap = new double[r.heap().size()][];
                for (int i = 0; i < heap.length; i++) {
                    heap[i] = new double[] {r.heap().get(i).usedAfterGc() / 1048576.0};
                }
                b.append(bars("Heap used after GC while filling " + r.store() + " (MiB; x = flows stored)", "MiB",
                        labels, List.of("heap used after GC"), heap, false));
            }
        }
        b.append("<h2>Runs</h2>\n<ul>\n");
        for (RunResult r : runs) {
            b.append("<li>").append(esc(r.timestamp().substring(0, 19))).append("Z ").append(esc(label(r)))
                    .append(": <code>").append(esc(r.command())).append("</code> — ").append(esc(r.storeDescription()))
                    .append("</li>\n");
        }
        for (SuspendedResult r : suspended) {
            b.append("<li>").append(esc(r.timestamp().substring(0, 19))).append("Z ").append(esc(r.store()))
                    .append(" --suspended: <code>").append(esc(r.command())).append("</code></li>\n");
        }
        return b.append("</ul>\n</body></html>\n").toString();
    }

    private static String compact(long n) {
        return n >= 1_000_000 ? f2(n / 1e6) + "M" : n >= 1000 ? f0(n / 1e3) + "k" : String.valueOf(n);
    }

    private static double[] percentiles(@Nullable PhaseResult engine, @Nullable PhaseResult floor) {
        double nan = Double.NaN;
        return new double[] {
            engine == null ? nan : engine.p50(), engine == null ? nan : engine.p95(), engine == null ? nan : engine.p99(),
            floor == null ? nan : floor.p50(), floor == null ? nan : floor.p95(), floor == null ? nan : floor.p99()};
    }

}
