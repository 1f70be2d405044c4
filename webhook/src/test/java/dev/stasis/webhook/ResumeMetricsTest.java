package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ResumeMetricsTest {

    @Test
    @DisplayName("nearest-rank percentiles")
    void percentiles() {
        long[] values = new long[100];
        for (int i = 0; i < 100; i++) {
            values[i] = i + 1;
        }
        assertThat(ResumeMetrics.percentile(values, 50)).isEqualTo(50);
        assertThat(ResumeMetrics.percentile(values, 95)).isEqualTo(95);
        assertThat(ResumeMetrics.percentile(values, 99)).isEqualTo(99);
        assertThat(ResumeMetrics.percentile(new long[] {7}, 99)).isEqualTo(7);
        assertThat(ResumeMetrics.percentile(new long[0], 50)).isZero();
    }

    @Test
    @DisplayName("counts by status, keeps only the last samples, sheds above the in-flight limit")
    void recording() {
        ResumeMetrics m = new ResumeMetrics();
        for (int i = 0; i < ResumeMetrics.RESERVOIR; i++) {
            m.record(200, 1_000_000_000L);
        }
        for (int i = 0; i < ResumeMetrics.RESERVOIR; i++) {
            m.record(404, 2_000_000L);
        }

        assertThat(m.total()).isEqualTo(2L * ResumeMetrics.RESERVOIR);
        assertThat(m.byStatus()).isEqualTo(Map.of("200", (long) ResumeMetrics.RESERVOIR, "404",
                (long) ResumeMetrics.RESERVOIR));
        Map<String, Number> latency = m.latency();
        assertThat(latency.get("samples")).isEqualTo(ResumeMetrics.RESERVOIR);
        assertThat(latency.get("p99").doubleValue()).isEqualTo(2.0);
        assertThat(latency.get("max").doubleValue()).isEqualTo(2.0);

        assertThat(m.tryAcquire(2)).isTrue();
        assertThat(m.tryAcquire(2)).isTrue();
        assertThat(m.tryAcquire(2)).isFalse();
        assertThat(m.inFlight()).isEqualTo(2);
        assertThat(m.shed()).isEqualTo(1);
        m.release();
        assertThat(m.tryAcquire(2)).isTrue();
    }
}
