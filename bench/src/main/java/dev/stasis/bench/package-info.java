/**
 * Benchmarks of Stasis: the end-to-end load harness (engine against the raw floor of each store, in the same run) and,
 * in {@code dev.stasis.bench.jmh}, JMH benchmarks of the state codec.
 */
@org.jspecify.annotations.NullMarked
package dev.stasis.bench;
