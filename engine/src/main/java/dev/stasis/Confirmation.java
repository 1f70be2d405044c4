package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * The input of a confirmation wait ({@link AwaitInput#confirmation(String)}).
 *
 * @param confirmed whether the person confirmed
 * @param by who answered, when known
 */
public record Confirmation(boolean confirmed, @Nullable String by) {}
