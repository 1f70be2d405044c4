package dev.stasis.webhook;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A bounded, thread-safe map of the most recent inbox outcomes by submission id (oldest evicted first). */
final class RecentOutcomes {

    private final Map<String, Reply> entries;

    RecentOutcomes(int capacity) {
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Reply> eldest) {
                return size() > capacity;
            }
        };
    }

    synchronized @Nullable Reply get(String submission) {
        return entries.get(submission);
    }

    synchronized void put(String submission, Reply outcome) {
        entries.put(submission, outcome);
    }

    synchronized int size() {
        return entries.size();
    }
}
