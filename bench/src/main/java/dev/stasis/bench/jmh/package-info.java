/**
 * JMH benchmarks of the state codec: each stage on its own ({@link dev.stasis.bench.jmh.CodecStagesBenchmark}) and
 * the whole suspend-side and resume-side pipeline ({@link dev.stasis.bench.jmh.CodecPipelineBenchmark}), on the real
 * sealed state of a suspended flow at 1 KB, 10 KB and 100 KB.
 */
@org.jspecify.annotations.NullMarked
package dev.stasis.bench.jmh;
