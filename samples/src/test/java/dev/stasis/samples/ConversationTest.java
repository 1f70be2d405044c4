package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.backend.filesystem.FilesystemStore;
import dev.stasis.spi.FlowRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code conversation start} and {@code conversation say}: every command opens its own hub on the data directory
 * (as a new process does), so the conversation's only memory is the store.
 */
class ConversationTest {

    private static final String KEY = "key: (sk1_[A-Za-z0-9_-]+)";

    @TempDir
    Path tmp;

    @Test
    @DisplayName("three turns, each through a fresh hub, then bye: completed with the whole transcript; an old key"
            + " is refused")
    void chatSurvivesRestarts() {
        String data = tmp.resolve("data").toString();
        Cli.Run start = Cli.run("conversation", "start", "--user", "Ada", "--data", data, "--dev-key").ok();
        assertThat(start.out()).contains("bot: Hi Ada! What's on your mind?");
        String key1 = start.group(KEY);

        Cli.Run t1 = Cli.run("conversation", "say", key1, "hello there", "--data", data, "--dev-key").ok();
        assertThat(t1.out()).contains("bot: You said \"hello there\". Tell me more, or say bye. (turn 1)");
        String key2 = t1.group(KEY);

        Cli.Run t2 = Cli.run("conversation", "say", key2, "how are you?", "--data", data, "--dev-key").ok();
        assertThat(t2.out()).contains("bot: Good question!").contains("(turn 2)");
        String key3 = t2.group(KEY);

        Cli.Run t3 = Cli.run("conversation", "say", key3, "I like trains", "--data", data, "--dev-key").ok();
        assertThat(t3.out()).contains("bot: You said \"I like trains\"").contains("(turn 3)");
        String key4 = t3.group(KEY);
        assertThat(List.of(key1, key2, key3, key4)).doesNotHaveDuplicates();

        Cli.Run bye = Cli.run("conversation", "say", key4, "Bye!", "--data", data, "--dev-key").ok();
        assertThat(bye.out()).contains("is COMPLETED. Transcript:")
                .containsSubsequence(
                        "  bot: Hi Ada!",
                        "  Ada: hello there",
                        "  bot: You said \"hello there\"",
                        "  Ada: how are you?",
                        "  bot: Good question!",
                        "  Ada: I like trains",
                        "  bot: You said \"I like trains\"",
                        "  Ada: Bye!",
                        "  bot: Bye Ada, talk soon!",
                        "Ada sent 4 messages; the conversation ended with \"Bye!\".")
                .doesNotContain("key: ");

        Cli.Run old = Cli.run("conversation", "say", key2, "one more thing", "--data", data, "--dev-key");
        assertThat(old.exitCode()).isEqualTo(ResumeCommand.ALREADY_RESUMED);
        assertThat(old.out()).contains("refused: this key was already used");

        List<FlowRecord> stored = FilesystemStore.builder(tmp.resolve("data/store")).build()
                .query(QueryCriteria.builder().flowName("conversation").build())
                .collectList().block(Duration.ofSeconds(30));
        assertThat(stored).singleElement().extracting(FlowRecord::status).isEqualTo(FlowStatus.COMPLETED);
    }

    @Test
    @DisplayName("only \"bye\" and \"end\" end the conversation")
    void goodbyeWords() {
        assertThat(List.of("bye", "Bye!", " END. ", "end")).allMatch(ConversationFlow::isGoodbye);
        assertThat(List.of("goodbye", "bye bye", "the end", "", "byebye")).noneMatch(ConversationFlow::isGoodbye);
    }
}
