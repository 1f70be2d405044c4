/**
 * Runnable walk-throughs of Stasis: {@code java -jar stasis-samples.jar demo} runs an approval flow on the
 * filesystem store, resumes it from a second process and shows that the files hold no readable state.
 */
@org.jspecify.annotations.NullMarked
package dev.stasis.samples;
