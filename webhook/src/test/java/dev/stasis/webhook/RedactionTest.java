package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.security.ResumeKeys;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RedactionTest {

    @Test
    @DisplayName("keys in resume paths (also under a base path, also malformed) and in query values are redacted")
    void redacts() {
        String key = ResumeKeys.generate();

        assertThat(Redaction.uri("/resume/" + key)).isEqualTo("/resume/" + ResumeKeys.redact(key));
        assertThat(Redaction.uri("/hooks/resume/" + key + "?x=1")).isEqualTo("/hooks/resume/"
                + ResumeKeys.redact(key) + "?x=1");
        assertThat(Redaction.uri("/resume/sk1_truncated")).isEqualTo("/resume/" + ResumeKeys.redact("sk1_truncated"));
        assertThat(Redaction.uri("/other/" + key)).isEqualTo("/other/" + ResumeKeys.redact(key));
        assertThat(Redaction.uri("/x?key=" + key + "&a=b")).isEqualTo("/x?key=" + ResumeKeys.redact(key) + "&a=b");
        assertThat(Redaction.uri("/admin/suspensions?flowName=a&status=SUSPENDED"))
                .isEqualTo("/admin/suspensions?flowName=a&status=SUSPENDED");
        assertThat(Redaction.uri("/resume/")).isEqualTo("/resume/");
        assertThat(Redaction.uri(null)).isEqualTo("-");
    }
}
