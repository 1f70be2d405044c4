package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quorum}: two of three approvers must approve. Each resume goes through the {@code resume} command, with a
 * hub of its own.
 */
class QuorumTest {

    private static final String APPROVE = "{\"approved\":true,\"approver\":\"%s\"}";
    private static final String REJECT = "{\"approved\":false,\"approver\":\"%s\",\"comment\":\"too expensive\"}";

    @TempDir
    Path tmp;

    private String data = "";

    @BeforeEach
    void dataDirectory() {
        data = tmp.resolve("data").toString();
    }

    @Test
    @DisplayName("the demo: two approve, the flow completes, the third key is refused")
    void demo() {
        Cli.Run run = Cli.run("quorum", "--data", data, "--dev-key").ok();
        assertThat(Cli.all(run.out(), "key: (sk1_[A-Za-z0-9_-]+)")).hasSize(3).doesNotHaveDuplicates();
        assertThat(run.out())
                .contains("alice approves -> SUSPENDED")
                .contains("bob approves   -> COMPLETED: Decision[title=New build servers, approved=true,"
                        + " approvedBy=[alice, bob], rejectedBy=[]]")
                .contains("carol answers  -> refused:");
    }

    @Test
    @DisplayName("approve + approve: completed and approved; the third key is refused (409)")
    void twoApprovals() {
        Map<String, String> keys = start();
        assertThat(resume(keys.get("alice"), APPROVE, "Alice").ok().out()).contains("is SUSPENDED again");
        assertThat(resume(keys.get("bob"), APPROVE, "Bob").ok().out())
                .contains("is COMPLETED: Decision[title=New build servers, approved=true, approvedBy=[alice, bob],"
                        + " rejectedBy=[]]");
        Cli.Run late = resume(keys.get("carol"), APPROVE, "Carol");
        assertThat(late.exitCode()).isEqualTo(ResumeCommand.ALREADY_RESUMED);
    }

    @Test
    @DisplayName("reject + reject: two answers reached the quorum, so it completes rejected; the third key is refused")
    void twoRejections() {
        Map<String, String> keys = start();
        resume(keys.get("bob"), REJECT, "Bob").ok();
        assertThat(resume(keys.get("carol"), REJECT, "Carol").ok().out())
                .contains("is COMPLETED: Decision[title=New build servers, approved=false, approvedBy=[],"
                        + " rejectedBy=[bob, carol]]");
        assertThat(resume(keys.get("alice"), APPROVE, "Alice").exitCode()).isEqualTo(ResumeCommand.ALREADY_RESUMED);
    }

    @Test
    @DisplayName("reject + approve + approve: the quorum counts answers, so a split asks the third approver again"
            + " with a new key; the old key is refused, the new one decides")
    void splitThenTieBreak() {
        Map<String, String> keys = start();
        resume(keys.get("alice"), REJECT, "Alice").ok();
        Cli.Run split = resume(keys.get("bob"), APPROVE, "Bob").ok();
        assertThat(split.out()).contains("is SUSPENDED again at [carol]");
        String tieBreakKey = split.group("new keys: \\[(sk1_[A-Za-z0-9_-]+)\\]");
        assertThat(tieBreakKey).isNotIn(keys.values());

        assertThat(resume(keys.get("carol"), APPROVE, "Carol").exitCode()).isEqualTo(ResumeCommand.ALREADY_RESUMED);
        assertThat(resume(tieBreakKey, APPROVE, "Carol").ok().out())
                .contains("is COMPLETED: Decision[title=New build servers, approved=true, approvedBy=[bob, carol],"
                        + " rejectedBy=[alice]]");
        assertThat(resume(tieBreakKey, APPROVE, "Carol").exitCode()).isEqualTo(ResumeCommand.ALREADY_RESUMED);
    }

    private Map<String, String> start() {
        Cli.Run run = Cli.run("quorum", "--start-only", "--data", data, "--dev-key").ok();
        Map<String, String> keys = new LinkedHashMap<>();
        for (String approver : List.of("alice", "bob", "carol")) {
            keys.put(approver, run.group("(?m)^  " + approver + " .*key: (sk1_[A-Za-z0-9_-]+)"));
        }
        assertThat(keys.values()).doesNotHaveDuplicates();
        return keys;
    }

    private Cli.Run resume(String key, String template, String who) {
        return Cli.run("resume", key, String.format(template, who), "--data", data, "--dev-key");
    }
}
