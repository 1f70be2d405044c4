package dev.stasis;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A named, versioned flow definition: a function from a context and an input to a {@code Mono} of the output.
 *
 * <pre>{@code
 * Flow<Order, Receipt> purchase = Flow.define("purchase", 1, Order.class, Receipt.class, (ctx, order) ->
 *         ctx.step("validate", Validated.class, () -> validator.check(order))
 *            .flatMap(v -> v.amount() > 1000 ? ctx.await(managerApproval) : Mono.just(Approval.auto()))
 *            ...);
 * }</pre>
 *
 * <p>A suspended flow resumes under the version it was started with, so keep an old version registered while
 * flows of that version may still be suspended.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
public final class Flow<I, O> {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");

    private final String name;
    private final int version;
    private final Class<I> inputType;
    private final Class<O> outputType;
    private final FlowFunction<I, O> function;
    private final FlowOptions options;

    private Flow(
            String name, int version, Class<I> inputType, Class<O> outputType, FlowFunction<I, O> function,
            FlowOptions options) {
        this.name = name;
        this.version = version;
        this.inputType = inputType;
        this.outputType = outputType;
        this.function = function;
        this.options = options;
    }

    /**
     * Defines a flow.
     *
     * @param name the flow's name: letters, digits and {@code . _ : -}, at most 128 characters
     * @param version a positive version; bump it when the order of steps and waits changes
     * @param inputType the input's class (serialized with Jackson)
     * @param outputType the output's class (serialized with Jackson)
     * @param function the flow's body
     * @param <I> the input type
     * @param <O> the output type
     * @return the definition, to register with a {@link PersistenceHub}
     * @throws IllegalArgumentException for an invalid name or a version below 1
     */
    public static <I, O> Flow<I, O> define(
            String name, int version, Class<I> inputType, Class<O> outputType, FlowFunction<I, O> function) {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid flow name '" + name + "': use letters, digits and . _ : -");
        }
        if (version < 1) {
            throw new IllegalArgumentException("flow version must be at least 1, was " + version);
        }
        return new Flow<>(
                name,
                version,
                Objects.requireNonNull(inputType, "inputType"),
                Objects.requireNonNull(outputType, "outputType"),
                Objects.requireNonNull(function, "function"),
                FlowOptions.defaults());
    }

    /**
     * This flow with other execution options.
     *
     * @param options the options
     * @return a new definition with the same name, version and body
     */
    public Flow<I, O> withOptions(FlowOptions options) {
        return new Flow<>(name, version, inputType, outputType, function, Objects.requireNonNull(options));
    }

    /**
     * The execution options.
     *
     * @return the options
     */
    public FlowOptions options() {
        return options;
    }

    /**
     * The flow's name.
     *
     * @return the name given to {@link #define}
     */
    public String name() {
        return name;
    }

    /**
     * The flow's version.
     *
     * @return the version given to {@link #define}
     */
    public int version() {
        return version;
    }

    /**
     * The input type.
     *
     * @return the input class
     */
    public Class<I> inputType() {
        return inputType;
    }

    /**
     * The output type.
     *
     * @return the output class
     */
    public Class<O> outputType() {
        return outputType;
    }

    /**
     * The flow's body.
     *
     * @return the function given to {@link #define}
     */
    public FlowFunction<I, O> function() {
        return function;
    }

    @Override
    public String toString() {
        return "Flow[" + name + " v" + version + "]";
    }
}
