package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AdminAuthTest {

    private static final String TOKEN = "0123456789abcdef-admin-token";
    private final TestClock clock = new TestClock(Instant.parse("2026-05-01T00:00:00Z"));
    private final AdminAuth auth = new AdminAuth(TOKEN, Duration.ofHours(1), clock);

    @Test
    @DisplayName("bearer tokens: exact match only, scheme case-insensitive")
    void bearer() {
        assertThat(auth.isBearer("Bearer " + TOKEN)).isTrue();
        assertThat(auth.isBearer("bearer " + TOKEN)).isTrue();
        assertThat(auth.isBearer("Bearer " + TOKEN + "0")).isFalse();
        assertThat(auth.isBearer("Bearer ")).isFalse();
        assertThat(auth.isBearer("Basic " + TOKEN)).isFalse();
        assertThat(auth.isBearer(null)).isFalse();
        assertThat(auth.isAdminToken(TOKEN)).isTrue();
        assertThat(auth.isAdminToken(TOKEN.toUpperCase())).isFalse();
    }

    @Test
    @DisplayName("sessions: derived (not the token), unforgeable, bound to the token, and they expire")
    void sessions() {
        String session = auth.newSession();

        assertThat(session).doesNotContain(TOKEN).isNotEqualTo(auth.newSession());
        assertThat(auth.isSession(session)).isTrue();
        int i = session.length() - 10;
        char flipped = session.charAt(i) == 'A' ? 'B' : 'A';
        assertThat(auth.isSession(session.substring(0, i) + flipped + session.substring(i + 1))).isFalse();
        assertThat(auth.isSession((session.charAt(0) == 'A' ? 'B' : 'A') + session.substring(1))).isFalse();
        assertThat(auth.isSession("AAAA.BBBB")).isFalse();
        assertThat(auth.isSession(TOKEN)).isFalse();
        assertThat(auth.isSession(null)).isFalse();
        assertThat(new AdminAuth(TOKEN + "-rotated", Duration.ofHours(1), clock).isSession(session)).isFalse();

        clock.advance(Duration.ofMinutes(59));
        assertThat(auth.isSession(session)).isTrue();
        clock.advance(Duration.ofMinutes(1));
        assertThat(auth.isSession(session)).isFalse();
    }

    @Test
    @DisplayName("CSRF tokens belong to one session")
    void csrf() {
        String a = auth.newSession();
        String b = auth.newSession();

        assertThat(auth.isCsrfToken(a, auth.csrfToken(a))).isTrue();
        assertThat(auth.csrfToken(a)).isEqualTo(auth.csrfToken(a));
        assertThat(auth.isCsrfToken(a, auth.csrfToken(b))).isFalse();
        assertThat(auth.isCsrfToken(a, null)).isFalse();
        assertThat(auth.isCsrfToken(a, "")).isFalse();
    }

    @Test
    @DisplayName("a short admin token is refused at build time")
    void shortToken() {
        assertThatThrownBy(() -> new AdminAuth("short", Duration.ofHours(1), clock))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
