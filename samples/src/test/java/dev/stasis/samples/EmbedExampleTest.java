package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.Approval;
import dev.stasis.Flow;
import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.PersistenceHub;
import dev.stasis.backend.filesystem.FilesystemStore;
import dev.stasis.samples.PurchaseFlow.Order;
import dev.stasis.samples.PurchaseFlow.Receipt;
import dev.stasis.security.KeyRing;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The root README's "embed it" example, verbatim between the markers, so that it keeps compiling against the real
 * API and does what the README says. (Surefire sets STASIS_KEYS to an all-zero test key for it; see the pom.)
 */
class EmbedExampleTest {

    @TempDir
    Path tmp;

    private final BlockingQueue<String> approverInbox = new LinkedBlockingQueue<>();
    private final BlockingQueue<FlowResult> auditLog = new LinkedBlockingQueue<>();

    private void mailApprover(String key, Instant deadline) {
        assertThat(deadline).isAfter(Instant.now());
        approverInbox.add(key);
    }

    private void audit(FlowResult result) {
        auditLog.add(result);
    }

    @Test
    @DisplayName("the README's embed-it example compiles and runs: suspend, mail the key, resume once")
    void readmeExample() throws InterruptedException {
        Flow<Order, Receipt> purchase = PurchaseFlow.FLOW;
        Order order = new Order("PO-1", "Ada Lovelace", "Standing desk", 1500);
        Path stasisDir = tmp.resolve("stasis"); // the README says Path.of("/var/lib/shop/stasis")

        // --- README begin
        FilesystemStore store = FilesystemStore.builder(stasisDir).build();   // a directory, created 0700
        KeyRing keys = FilesystemStore.keyRing(stasisDir, false);            // STASIS_KEYS or STASIS_KEY_FILE, else fails
        PersistenceHub hub = PersistenceHub.builder(store, keys).register(purchase).build();

        hub.start(purchase, order)                          // runs until the approval wait, then suspends
                .ofType(FlowResult.Suspended.class)         // the key is handed out once the state is durable
                .subscribe(s -> mailApprover(s.key(), s.expiresAt()));
        // --- README end

        String key = approverInbox.poll(1, TimeUnit.MINUTES);
        assertThat(key).isNotNull().startsWith("sk1_");

        // --- README begin
        // later, in a webhook handler or another process: exactly one resume of a key wins
        hub.resume(key, new Approval(true, "Grace Hopper", "within budget"))
                .subscribe(result -> audit(result));
        // --- README end

        FlowResult result = auditLog.poll(1, TimeUnit.MINUTES);
        assertThat(result).isNotNull();
        assertThat(result.status()).isEqualTo(FlowStatus.COMPLETED);
        assertThat(((FlowResult.Completed) result).output(Receipt.class).approvedBy()).isEqualTo("Grace Hopper");
        assertThat(keys.primaryKeyId()).isEqualTo("readme-test");
    }
}
