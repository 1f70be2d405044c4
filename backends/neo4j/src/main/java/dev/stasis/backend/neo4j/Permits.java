package dev.stasis.backend.neo4j;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * A non-blocking counting semaphore for the store's transactions: at most {@code max} run at once, the others wait
 * in FIFO order without holding a thread.
 *
 * <p>Why: the driver's connection pool queues at most 100 pending acquisitions beyond its pool size and fails the
 * rest with a transient error, which its managed transactions then retry after a back-off of a second or more. A
 * burst of concurrent calls (a duplicate-resume storm) would turn into seconds of back-off and, after the retry
 * time, into errors. Queueing here keeps the pool's own queue short.
 *
 * <p>Each call gets a ticket: {@code WAITING → GRANTED → DONE}, or {@code WAITING → CANCELLED} when the caller
 * cancels (or fails) before its turn. Both the grant and the finish are compare-and-sets on the ticket, so a permit
 * is returned exactly once whatever the race between a grant and a cancellation. (A caller cancelled at the very
 * moment its turn comes may still see its work subscribed and at once cancelled, after the permit moved on; the
 * work then never gets further than opening a session.)
 */
final class Permits {

    private static final int WAITING = 0;
    private static final int GRANTED = 1;
    private static final int DONE = 2;
    private static final int CANCELLED = 3;

    private final ArrayDeque<Ticket> waiting = new ArrayDeque<>();
    private int available;

    /**
     * Creates the semaphore.
     *
     * @param max how many calls may run at once (at least 1)
     */
    Permits(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be at least 1, was " + max);
        }
        this.available = max;
    }

    /**
     * Subscribes to {@code work} once a permit is free and returns the permit when it terminates or is cancelled.
     *
     * @param work the work, subscribed lazily
     * @param <T> the element type
     * @return the gated work
     */
    <T> Flux<T> limit(Flux<T> work) {
        return Flux.defer(() -> {
            Ticket ticket = new Ticket();
            return Mono.<Void>create(sink -> {
                        ticket.sink = sink;
                        enqueue(ticket);
                    })
                    .thenMany(work)
                    // returned before the terminal signal travels on (not doFinally, which runs after it): the next
                    // waiting call may start at once, and a caller that saw completion sees the permit back
                    .doOnTerminate(() -> finish(ticket))
                    .doOnCancel(() -> finish(ticket));
        });
    }

    /** Free permits now (for tests). */
    synchronized int available() {
        return available;
    }

    private void enqueue(Ticket ticket) {
        boolean now;
        synchronized (this) {
            now = available > 0;
            if (now) {
                available--;
            } else {
                waiting.add(ticket);
            }
        }
        if (now && !grant(ticket)) {
            release();
        }
    }

    private static boolean grant(Ticket ticket) {
        if (ticket.state.compareAndSet(WAITING, GRANTED)) {
            MonoSink<Void> sink = ticket.sink;
            if (sink != null) {
                sink.success();
            }
            return true;
        }
        return false;
    }

    private void finish(Ticket ticket) {
        for (;;) {
            int state = ticket.state.get();
            if (state == GRANTED && ticket.state.compareAndSet(GRANTED, DONE)) {
                release();
                return;
            }
            if (state == WAITING && ticket.state.compareAndSet(WAITING, CANCELLED)) {
                // it stays in the queue and is skipped when its turn comes
                return;
            }
            if (state == DONE || state == CANCELLED) {
                return;
            }
        }
    }

    private void release() {
        for (;;) {
            Ticket next;
            synchronized (this) {
                next = waiting.poll();
                if (next == null) {
                    available++;
                    return;
                }
            }
            if (grant(next)) {
                return;
            }
        }
    }

    private static final class Ticket {
        final AtomicInteger state = new AtomicInteger(WAITING);
        volatile @Nullable MonoSink<Void> sink;
    }
}
