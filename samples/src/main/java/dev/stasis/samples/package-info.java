/**
 * The samples users copy, runnable from {@code java -jar stasis-samples.jar}: the approval walk-through
 * ({@code demo}), an approval server resumed with {@code curl}, a chat loop of awaits, one flow per entity, a
 * supervisor supplying inputs up front, and a two-of-three quorum, all on the filesystem store.
 */
@org.jspecify.annotations.NullMarked
package dev.stasis.samples;
