package dev.stasis.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {

    @TempDir
    Path dir;

    private static PhaseResult phase(String name, double tput, double p50, double p99) {
        return new PhaseResult(name, 100, 0, 100 / tput, tput, p50, (p50 + p99) / 2, p99, p99 * 2, p50,
                name.startsWith("engine") ? Map.of("insert", 100L) : Map.of(), name.startsWith("engine") ? 0.5 : -1,
                null);
    }

    private static RunResult run(String store, String timestamp, double engineTput) {
        return new RunResult("load", timestamp, "test machine", "cmd --store " + store, store, "desc <" + store + ">",
                100, 8, 1024, 6, "JCE", 10,
                List.of(phase("engine.suspend", engineTput, 1, 3), phase("engine.resume", engineTput, 2, 4),
                        phase("floor.write", 2 * engineTput, 0.5, 1), phase("floor.claim", 2 * engineTput, 0.4, 1)),
                "SET + GETDEL", 0.5, 0.5, 10 << 20, 11 << 20, 10 << 20, 900, "estimate", 850, null, 3,
                Map.of("engine.suspend", List.of(engineTput, engineTput, engineTput)), List.of(0.45, 0.5, 0.55),
                List.of(0.5, 0.5, 0.5));
    }

    @Test
    void savedRunsRenderAsMarkdownAndHtmlWithTheLatestRunOfEachConfiguration() throws Exception {
        ResultFiles.save(dir, "load", "redis", 8, "2026-01-01T00:00:00Z", run("redis", "2026-01-01T00:00:00Z", 100));
        ResultFiles.save(dir, "load", "redis", 8, "2026-01-02T00:00:00Z", run("redis", "2026-01-02T00:00:00Z", 300));
        ResultFiles.save(dir, "load", "postgres", 8, "2026-01-01T00:00:00Z",
                run("postgres", "2026-01-01T00:00:00Z", 200));

        List<RunResult> latest = ResultFiles.latestLoadRuns(dir);
        assertThat(latest).extracting(RunResult::store).containsExactly("postgres", "redis");
        assertThat(latest.get(1).phase("engine.suspend").throughput()).isEqualTo(300);

        Report.regenerate(dir);
        String md = Files.readString(dir.resolve("results.md"));
        assertThat(md).contains("| redis | 8 | 1024 B | 100 × 3 | 300 | 600 | 0.50× (0.45–0.55) |");
        String html = Files.readString(dir.resolve("results.html"));
        assertThat(html).contains("<svg").contains("desc &lt;redis&gt;").doesNotContain("desc <redis>")
                .doesNotContain("<script").doesNotContain("http://cdn").doesNotContain("https://");
        assertThat(html.split("<svg", -1)).hasSize(4);
    }

    @Test
    void runsSavedBeforeRoundsReadAsOneRound() throws Exception {
        // the JSON of a run saved before --rounds existed: no rounds, no per-round figures
        RunResult old = run("redis", "2026-01-01T00:00:00Z", 100);
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(old)
                .replaceAll(",\\s*\"(rounds|roundThroughputs|roundRatiosSuspend|roundRatiosResume)\"\\s*:"
                        + "\\s*(\\d+|\\{[^}]*\\}|\\[[^\\]]*\\])", "");
        assertThat(json).doesNotContain("rounds").doesNotContain("roundRatios");
        Path runs = Files.createDirectories(dir.resolve("runs"));
        Files.writeString(runs.resolve("load-redis-c8-old.json"), json);

        RunResult read = ResultFiles.latestLoadRuns(dir).get(0);
        assertThat(read.roundCount()).isEqualTo(1);
        assertThat(read.roundRatiosResume()).isNull();
        Report.regenerate(dir);
        assertThat(Files.readString(dir.resolve("results.md"))).contains("| redis | 8 | 1024 B | 100 × 1 | 100 | 200 |"
                + " 0.50× |");
    }

    @Test
    void ratioShowsTheRoundsRangeOnlyWhenThereAreSeveral() {
        assertThat(Report.ratio(0.7, List.of(0.6, 0.7, 0.9))).isEqualTo("0.70× (0.60–0.90)");
        assertThat(Report.ratio(0.7, List.of(0.7))).isEqualTo("0.70×");
        assertThat(Report.ratio(0.7, null)).isEqualTo("0.70×");
        assertThat(Report.ratio(-1, List.of(0.6, 0.7))).isEqualTo("—");
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertThat(LoadHarness.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
        assertThat(LoadHarness.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
        assertThat(LoadHarness.median(List.of())).isEqualTo(-1);
    }

    @Test
    void logScaleBarsSkipMissingValues() {
        String svg = Report.bars("t", "ms", List.of("a", "b"), List.of("x", "y"),
                new double[][] {{0.5, Double.NaN}, {20, 0}}, true);
        assertThat(svg).startsWith("<svg").endsWith("</svg>\n");
        assertThat(svg.split("<rect", -1)).hasSize(1 + 2 + 2);
    }
}
