package dev.stasis.spi;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Group commit, for store implementations: requests that arrive while earlier statements are in flight are sent
 * together, as one statement and one transaction, when a slot frees up. At most {@code maxInFlight} batches run at
 * once and a batch holds at most {@code maxBatch} requests (and, optionally, at most a total weight). Under light
 * load every batch holds one request and goes out at once (no timer, no added latency); under load the batches grow
 * by themselves, which divides the per-statement cost (client encoding, round trip, parse/plan, commit and WAL
 * flush) by the batch size.
 *
 * <p>Two requests with the same {@code conflictKey} (the same flow id) never share a batch: the later one waits for
 * a later batch, so the statements never have to decide between two writes of one row. Without a conflict key
 * (reads) any requests may share one.
 *
 * <p>A request answers when its batch's statement has committed (or failed). A caller that cancels before its
 * batch is sent is dropped from it; after that, the statement runs to its end, as a single statement would.
 * Non-blocking throughout: {@link #submit} only enqueues and drains; the batch runs wherever its publisher runs.
 *
 * @param <Q> a request
 * @param <A> its answer
 */
public final class GroupCommit<Q, A> {

    /**
     * Runs one batch; answers one outcome per request, in the batch's order.
     *
     * @param <Q> a request
     * @param <A> its answer
     */
    @FunctionalInterface
    public interface BatchRunner<Q, A> {
        /**
         * Runs the batch.
         *
         * @param batch at least one request, no two with the same conflict key
         * @return one outcome per request in the same order; an error fails every request of the batch
         */
        Mono<List<Outcome<A>>> run(List<Q> batch);
    }

    /**
     * The answer to one request: a value, or an error of that request alone.
     *
     * @param value the value when successful (may be null for {@code Void})
     * @param error the error, or null
     * @param <A> the value type
     */
    public record Outcome<A>(@Nullable A value, @Nullable Throwable error) {
        /**
         * A successful outcome.
         *
         * @param value the value, or null for an empty answer
         * @param <A> the value type
         * @return the outcome
         */
        public static <A> Outcome<A> ok(@Nullable A value) {
            return new Outcome<>(value, null);
        }

        /**
         * The failure of one request.
         *
         * @param error the error
         * @param <A> the value type
         * @return the outcome
         */
        public static <A> Outcome<A> failed(Throwable error) {
            return new Outcome<>(null, Objects.requireNonNull(error, "error"));
        }
    }

    /**
     * The outcomes of a batch of lookups, in request order, from what one statement found: a request whose key was
     * not found, or whose found value no longer {@code holds} it (a record that moved on between index and read),
     * answers empty.
     *
     * @param keys the batch's requests (lookup keys), in order
     * @param found the outcome per key the statement found
     * @param holds whether a found value still answers to its key
     * @param <K> a lookup key
     * @param <V> a found value
     * @return one outcome per key, in order
     */
    public static <K, V> List<Outcome<V>> inRequestOrder(
            List<K> keys, Map<K, Outcome<V>> found, BiPredicate<K, V> holds) {
        List<Outcome<V>> outcomes = new ArrayList<>(keys.size());
        for (K key : keys) {
            Outcome<V> o = found.get(key);
            V value = o == null ? null : o.value();
            outcomes.add(o == null || (value != null && !holds.test(key, value)) ? Outcome.ok(null) : o);
        }
        return outcomes;
    }

    private static final int WAITING = 0;
    private static final int SENT = 1;
    private static final int CANCELLED = 2;

    private static final class Pending<Q, A> {
        final Q request;
        final MonoSink<A> sink;
        final AtomicInteger state = new AtomicInteger(WAITING);

        Pending(Q request, MonoSink<A> sink) {
            this.request = request;
            this.sink = sink;
        }
    }

    private final BatchRunner<Q, A> runner;
    private final @Nullable Function<? super Q, ?> conflictKey;
    private final int maxBatch;
    private final int maxInFlight;
    private final Queue<Pending<Q, A>> incoming = new ConcurrentLinkedQueue<>();
    /** Requests set aside because their key was taken in the batch being formed; touched only inside the drain. */
    private final ArrayDeque<Pending<Q, A>> held = new ArrayDeque<>();
    private final AtomicInteger wip = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ToLongFunction<? super Q> weight;
    private final long maxWeight;
    private final LongAdder batches = new LongAdder();
    private final LongAdder requests = new LongAdder();

    /**
     * Creates a batcher without a size budget.
     *
     * @param runner runs one batch
     * @param conflictKey what two requests must not share within one batch (a flow id), or null when any may
     * @param maxBatch the most requests in one batch, at least 1
     * @param maxInFlight the most batches running at once, at least 1
     * @throws IllegalArgumentException when a bound is below 1
     */
    public GroupCommit(BatchRunner<Q, A> runner, @Nullable Function<? super Q, ?> conflictKey, int maxBatch,
            int maxInFlight) {
        this(runner, conflictKey, maxBatch, maxInFlight, q -> 0, Long.MAX_VALUE);
    }

    /**
     * Creates a batcher whose batches also stay within a size budget: a request joins a batch only while the sum of
     * the weights stays within {@code maxWeight} (the first request of a batch always goes, whatever its weight), so a
     * few large records are not packed into one huge statement.
     *
     * @param runner runs one batch
     * @param conflictKey what two requests must not share within one batch (a flow id), or null when any may
     * @param maxBatch the most requests in one batch, at least 1
     * @param maxInFlight the most batches running at once, at least 1
     * @param weight a request's size (for example its sealed state's bytes), not negative
     * @param maxWeight the most total weight of a batch that holds more than one request, at least 1
     * @throws IllegalArgumentException when a bound is below 1
     */
    public GroupCommit(BatchRunner<Q, A> runner, @Nullable Function<? super Q, ?> conflictKey, int maxBatch,
            int maxInFlight, ToLongFunction<? super Q> weight, long maxWeight) {
        if (maxBatch < 1 || maxInFlight < 1 || maxWeight < 1) {
            throw new IllegalArgumentException("maxBatch, maxInFlight and maxWeight must be at least 1");
        }
        this.runner = Objects.requireNonNull(runner, "runner");
        this.conflictKey = conflictKey;
        this.maxBatch = maxBatch;
        this.maxInFlight = maxInFlight;
        this.weight = Objects.requireNonNull(weight, "weight");
        this.maxWeight = maxWeight;
    }

    /**
     * Enqueues a request; lazy (nothing is enqueued before subscription).
     *
     * @param request the request
     * @return its answer, once its batch has run
     */
    public Mono<A> submit(Q request) {
        Objects.requireNonNull(request, "request");
        return Mono.create(sink -> {
            Pending<Q, A> p = new Pending<>(request, sink);
            sink.onCancel(() -> p.state.compareAndSet(WAITING, CANCELLED));
            incoming.offer(p);
            drain();
        });
    }

    /**
     * How many batches were sent.
     *
     * @return the count
     */
    public long batches() {
        return batches.sum();
    }

    /**
     * How many requests those batches held.
     *
     * @return the count
     */
    public long requests() {
        return requests.sum();
    }

    private void drain() {
        if (wip.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            while (inFlight.get() < maxInFlight) {
                List<Pending<Q, A>> batch = take();
                if (batch.isEmpty()) {
                    break;
                }
                inFlight.incrementAndGet();
                send(batch);
            }
            missed = wip.addAndGet(-missed);
        } while (missed != 0);
    }

    /** Forms the next batch: set-aside requests first (oldest first), then new ones. */
    private List<Pending<Q, A>> take() {
        Batch<Q, A> batch = new Batch<>();
        for (int i = held.size(); i > 0 && !batch.full; i--) {
            admit(held.pollFirst(), batch);
        }
        Pending<Q, A> p;
        while (!batch.full && (p = incoming.poll()) != null) {
            admit(p, batch);
        }
        return batch.members;
    }

    /** A batch being formed. */
    private static final class Batch<Q, A> {
        final List<Pending<Q, A>> members = new ArrayList<>();
        final Set<Object> keys = new HashSet<>();
        long weight;
        boolean full;
    }

    private void admit(Pending<Q, A> p, Batch<Q, A> batch) {
        if (p.state.get() == CANCELLED) {
            return;
        }
        if (conflictKey != null && batch.keys.contains(conflictKey.apply(p.request))) {
            held.addLast(p);
            return;
        }
        long w = Math.max(0, weight.applyAsLong(p.request));
        if (!batch.members.isEmpty() && batch.weight + w > maxWeight) {
            // over the budget: this batch is complete, and the request leads the next one (never starved)
            held.addFirst(p);
            batch.full = true;
            return;
        }
        if (p.state.compareAndSet(WAITING, SENT)) {
            if (conflictKey != null) {
                batch.keys.add(conflictKey.apply(p.request));
            }
            batch.members.add(p);
            batch.weight += w;
            batch.full = batch.members.size() >= maxBatch;
        }
    }

    private void send(List<Pending<Q, A>> batch) {
        batches.increment();
        requests.add(batch.size());
        List<Q> qs = new ArrayList<>(batch.size());
        for (Pending<Q, A> p : batch) {
            qs.add(p.request);
        }
        AtomicInteger released = new AtomicInteger();
        Runnable release = () -> {
            if (released.compareAndSet(0, 1)) {
                inFlight.decrementAndGet();
                drain();
            }
        };
        Mono<List<Outcome<A>>> run;
        try {
            run = Objects.requireNonNull(runner.run(qs), "runner returned null");
        } catch (RuntimeException e) {
            run = Mono.error(e);
        }
        AtomicBoolean answered = new AtomicBoolean();
        run.subscribe(
                outcomes -> {
                    answered.set(true);
                    // free the slot first: answering runs the callers' continuations on this thread
                    release.run();
                    answer(batch, outcomes);
                },
                error -> {
                    release.run();
                    for (Pending<Q, A> p : batch) {
                        p.sink.error(error);
                    }
                },
                () -> {
                    release.run();
                    if (!answered.get()) {
                        IllegalStateException e =
                                new IllegalStateException("group commit: the batch ended without an answer");
                        batch.forEach(p -> p.sink.error(e));
                    }
                });
    }

    private void answer(List<Pending<Q, A>> batch, List<Outcome<A>> outcomes) {
        if (outcomes.size() != batch.size()) {
            IllegalStateException e = new IllegalStateException("group commit: " + outcomes.size()
                    + " answers for a batch of " + batch.size());
            batch.forEach(p -> p.sink.error(e));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            Outcome<A> o = outcomes.get(i);
            MonoSink<A> sink = batch.get(i).sink;
            if (o.error() != null) {
                sink.error(o.error());
            } else if (o.value() == null) {
                sink.success();
            } else {
                sink.success(o.value());
            }
        }
    }
}
