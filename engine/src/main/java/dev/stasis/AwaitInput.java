package dev.stasis;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stasis.internal.InputSchema;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The definition of a wait: where a flow stops until someone presents a key with some input.
 *
 * <pre>{@code
 * AwaitInput<Approval> managerApproval = AwaitInput.builder("manager-approval", Approval.class)
 *         .name("Manager approval")
 *         .description("A manager approves purchases over 1000 EUR")
 *         .timeout(Duration.ofHours(4))
 *         .defaultValue(new Approval(false, "system", "timed out"))
 *         .metadata(Map.of("department", "finance"))
 *         .build();
 * }</pre>
 *
 * <p>The input is validated against a JSON schema before the wait is claimed. The schema is derived from the input
 * type (records and beans: their properties; primitives and record components not marked {@code @Nullable} are
 * required; enums list their constants) or given explicitly with {@link Builder#schema(JsonNode)}.
 *
 * <p>{@link #metadata()} is stored <b>unencrypted</b> beside the sealed state so that queries can filter on it:
 * do not put secrets or personal data there.
 *
 * @param <T> the input type
 */
public final class AwaitInput<T> {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");

    private final String id;
    private final String name;
    private final String description;
    private final Class<T> inputType;
    private final InputSchema schema;
    private final @Nullable Duration timeout;
    private final @Nullable T defaultValue;
    private final boolean hasDefault;
    private final Map<String, String> metadata;

    private AwaitInput(Builder<T> b, InputSchema schema) {
        this.id = b.id;
        this.name = b.name == null ? b.id : b.name;
        this.description = b.description;
        this.inputType = b.inputType;
        this.schema = schema;
        this.timeout = b.timeout;
        this.defaultValue = b.defaultValue;
        this.hasDefault = b.hasDefault;
        this.metadata = Map.copyOf(b.metadata);
    }

    /**
     * A wait with only an id and an input type.
     *
     * @param id the wait's id: letters, digits and {@code . _ : -}
     * @param inputType the input's class
     * @param <T> the input type
     * @return the wait
     */
    public static <T> AwaitInput<T> of(String id, Class<T> inputType) {
        return builder(id, inputType).build();
    }

    /**
     * Starts a builder.
     *
     * @param id the wait's id: letters, digits and {@code . _ : -}, at most 128 characters
     * @param inputType the input's class
     * @param <T> the input type
     * @return a builder
     */
    public static <T> Builder<T> builder(String id, Class<T> inputType) {
        return new Builder<>(id, inputType);
    }

    /**
     * Preset: a yes/no approval by a named approver.
     *
     * @param id the wait's id
     * @return a builder for an {@link Approval} wait, named "Approval"
     */
    public static Builder<Approval> approval(String id) {
        return builder(id, Approval.class).name("Approval").description("Approve or reject");
    }

    /**
     * Preset: a confirmation.
     *
     * @param id the wait's id
     * @return a builder for a {@link Confirmation} wait, named "Confirmation"
     */
    public static Builder<Confirmation> confirmation(String id) {
        return builder(id, Confirmation.class).name("Confirmation").description("Confirm to continue");
    }

    /**
     * Preset: a document review with approve / request changes / reject.
     *
     * @param id the wait's id
     * @return a builder for a {@link DocumentReview} wait, named "Document review"
     */
    public static Builder<DocumentReview> documentReview(String id) {
        return builder(id, DocumentReview.class).name("Document review").description("Review the document");
    }

    /**
     * The wait's id; with its occurrence in a run, its identity in the journal.
     *
     * @return the id
     */
    public String id() {
        return id;
    }

    /**
     * A human-readable name (defaults to the id).
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * A human-readable description.
     *
     * @return the description, possibly empty
     */
    public String description() {
        return description;
    }

    /**
     * The input's class.
     *
     * @return the class
     */
    public Class<T> inputType() {
        return inputType;
    }

    /**
     * The JSON schema (draft 2020-12) the input must satisfy.
     *
     * @return the schema document
     */
    public JsonNode schema() {
        return schema.document();
    }

    /**
     * How long the wait lasts before it fires with its default value (or fails).
     *
     * @return the timeout, or {@code null} for a wait without deadline
     */
    public @Nullable Duration timeout() {
        return timeout;
    }

    /**
     * Whether the wait has a default value to resume with when it times out.
     *
     * @return {@code true} when {@link Builder#defaultValue} was called
     */
    public boolean hasDefaultValue() {
        return hasDefault;
    }

    /**
     * The value the wait resumes with when it times out.
     *
     * @return the default value; {@code null} when there is none (see {@link #hasDefaultValue()})
     */
    public @Nullable T defaultValue() {
        return defaultValue;
    }

    /**
     * Plain (unencrypted, queryable) metadata.
     *
     * @return the metadata
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public String toString() {
        return "AwaitInput[" + id + ": " + inputType.getSimpleName() + "]";
    }

    /**
     * Builds an {@link AwaitInput}.
     *
     * @param <T> the input type
     */
    public static final class Builder<T> {
        private final String id;
        private final Class<T> inputType;
        private @Nullable String name;
        private String description = "";
        private @Nullable JsonNode schema;
        private @Nullable Duration timeout;
        private @Nullable T defaultValue;
        private boolean hasDefault;
        private final Map<String, String> metadata = new LinkedHashMap<>();

        private Builder(String id, Class<T> inputType) {
            Objects.requireNonNull(id, "id");
            if (!ID.matcher(id).matches()) {
                throw new IllegalArgumentException("invalid await id '" + id + "': use letters, digits and . _ : -");
            }
            this.id = id;
            this.inputType = Objects.requireNonNull(inputType, "inputType");
        }

        /**
         * Sets the human-readable name.
         *
         * @param name the name
         * @return this builder
         */
        public Builder<T> name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Sets the description.
         *
         * @param description the description
         * @return this builder
         */
        public Builder<T> description(String description) {
            this.description = Objects.requireNonNull(description, "description");
            return this;
        }

        /**
         * Replaces the derived schema with an explicit one (JSON Schema draft 2020-12).
         *
         * @param schema the schema document
         * @return this builder
         */
        public Builder<T> schema(JsonNode schema) {
            this.schema = Objects.requireNonNull(schema, "schema");
            return this;
        }

        /**
         * Sets the timeout, counted from the moment the flow suspends at this wait.
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder<T> timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * Sets the value the wait resumes with when it times out.
         *
         * @param value the default value (may be {@code null} to resume with an empty value)
         * @return this builder
         */
        public Builder<T> defaultValue(@Nullable T value) {
            this.defaultValue = value;
            this.hasDefault = true;
            return this;
        }

        /**
         * Adds plain metadata (stored unencrypted).
         *
         * @param metadata entries to add
         * @return this builder
         */
        public Builder<T> metadata(Map<String, String> metadata) {
            this.metadata.putAll(metadata);
            return this;
        }

        /**
         * Builds the wait, deriving or compiling its schema.
         *
         * @return the wait
         * @throws IllegalArgumentException when an explicit schema is not a valid JSON schema
         */
        public AwaitInput<T> build() {
            InputSchema compiled = schema == null ? InputSchema.derive(inputType) : InputSchema.of(schema);
            return new AwaitInput<>(this, compiled);
        }
    }
}
