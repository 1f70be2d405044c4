package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * The input of an approval wait ({@link AwaitInput#approval(String)}).
 *
 * @param approved whether the approver approved
 * @param approver who decided
 * @param comment an optional comment
 */
public record Approval(boolean approved, String approver, @Nullable String comment) {

    /**
     * An approval granted by the system itself, for paths that need no human decision.
     *
     * @return an approved approval by {@code "system"}
     */
    public static Approval auto() {
        return new Approval(true, "system", "approved automatically");
    }
}
