package dev.stasis.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.stasis.InputValidationException;
import java.lang.annotation.Annotation;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A wait's JSON schema (draft 2020-12): derived from a Java type or given, compiled once with networknt's
 * validator and cached by its content.
 */
public final class InputSchema {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final Map<JsonNode, InputSchema> CACHE = new ConcurrentHashMap<>();
    private static final int MAX_CACHED = 10_000;

    static {
        // The validator loads its message bundle (a resource read from its jar) on the first violation it reports,
        // on whatever thread validates: in a server that is a netty event loop answering the first bad request.
        // Report one violation here instead, when the class initialises (a flow's AwaitInput is built: start-up).
        // Messages are resolved lazily, so ask for one.
        for (Error e : REGISTRY.getSchema(NODES.objectNode().put("type", "boolean")).validate(NODES.textNode("x"))) {
            e.getMessage();
        }
    }

    private final JsonNode document;
    private final Schema compiled;

    private InputSchema(JsonNode document) {
        this.document = document;
        try {
            this.compiled = REGISTRY.getSchema(document);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a valid JSON schema: " + e.getMessage(), e);
        }
    }

    /**
     * Compiles a given schema (cached by its content).
     *
     * @param document the schema
     * @return the compiled schema
     */
    public static InputSchema of(JsonNode document) {
        // keyed by the tree itself (JsonNode equality is structural): hashing a parsed tree is a fraction of the
        // cost of printing it, and every resume looks its wait's schema up here
        InputSchema cached = CACHE.get(document);
        if (cached != null) {
            return cached;
        }
        InputSchema schema = new InputSchema(document.deepCopy());
        if (CACHE.size() < MAX_CACHED) {
            // the key is a private copy: no caller holds it, so no later change to a node can corrupt the cache
            CACHE.putIfAbsent(document.deepCopy(), schema);
        }
        return schema;
    }

    /**
     * Derives a schema from a type.
     *
     * @param type a record, bean, enum, primitive, string, number, collection or map type
     * @return the compiled schema
     */
    public static InputSchema derive(Class<?> type) {
        // per class, once: an AwaitInput built inside a flow's function is built again on every run and replay
        return DERIVED.get(type);
    }

    private static final ClassValue<InputSchema> DERIVED = new ClassValue<>() {
        @Override
        protected InputSchema computeValue(Class<?> type) {
            ObjectNode root = schemaFor(type, type, new HashSet<>());
            root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            return of(root);
        }
    };

    /**
     * The schema document.
     *
     * @return the JSON schema
     */
    public JsonNode document() {
        return document;
    }

    /**
     * Validates an input.
     *
     * @param input the input as JSON
     * @return the violations, empty when the input is valid
     */
    public List<InputValidationException.Violation> validate(JsonNode input) {
        List<Error> errors = compiled.validate(input);
        List<InputValidationException.Violation> violations = new ArrayList<>(errors.size());
        for (Error error : errors) {
            String path = String.valueOf(error.getInstanceLocation());
            violations.add(new InputValidationException.Violation(path, error.getMessage()));
        }
        return violations;
    }

    private static ObjectNode schemaFor(Class<?> raw, Type generic, Set<Class<?>> visiting) {
        ObjectNode node = NODES.objectNode();
        if (raw == boolean.class || raw == Boolean.class) {
            node.put("type", "boolean");
        } else if (raw == String.class || raw == char.class || raw == Character.class || raw == UUID.class) {
            node.put("type", "string");
        } else if (raw == int.class || raw == long.class || raw == short.class || raw == byte.class
                || raw == Integer.class || raw == Long.class || raw == Short.class || raw == Byte.class
                || raw == BigInteger.class) {
            node.put("type", "integer");
        } else if (raw == double.class || raw == float.class || raw == Double.class || raw == Float.class
                || raw == BigDecimal.class || Number.class.isAssignableFrom(raw)) {
            node.put("type", "number");
        } else if (raw == Instant.class || raw == OffsetDateTime.class || raw == ZonedDateTime.class) {
            node.put("type", "string").put("format", "date-time");
        } else if (raw == LocalDate.class) {
            node.put("type", "string").put("format", "date");
        } else if (raw.isEnum()) {
            node.put("type", "string");
            ArrayNode values = node.putArray("enum");
            for (Object constant : raw.getEnumConstants()) {
                values.add(((Enum<?>) constant).name());
            }
        } else if (raw.isArray()) {
            node.put("type", "array");
            node.set("items", schemaFor(raw.getComponentType(), raw.getComponentType(), visiting));
        } else if (Collection.class.isAssignableFrom(raw)) {
            node.put("type", "array");
            Type item = typeArgument(generic, 0);
            if (item != null) {
                node.set("items", schemaFor(rawClass(item), item, visiting));
            }
        } else if (Map.class.isAssignableFrom(raw)) {
            node.put("type", "object");
            Type value = typeArgument(generic, 1);
            if (value != null) {
                node.set("additionalProperties", schemaFor(rawClass(value), value, visiting));
            }
        } else if (raw == Object.class || raw.isInterface() || visiting.contains(raw)) {
            // open schema: any JSON value (interfaces and recursive types are not expanded)
        } else {
            visiting.add(raw);
            objectSchema(raw, node, visiting);
            visiting.remove(raw);
        }
        return node;
    }

    private static void objectSchema(Class<?> raw, ObjectNode node, Set<Class<?>> visiting) {
        node.put("type", "object");
        ObjectNode properties = node.putObject("properties");
        ArrayNode required = NODES.arrayNode();
        if (raw.isRecord()) {
            for (RecordComponent c : raw.getRecordComponents()) {
                ObjectNode property = schemaFor(c.getType(), c.getGenericType(), visiting);
                if (c.getType().isPrimitive() || !isNullable(c) && !isNullable(c.getAccessor())) {
                    required.add(c.getName());
                } else {
                    allowNull(property);
                }
                properties.set(c.getName(), property);
            }
        } else {
            for (Class<?> k = raw; k != null && k != Object.class; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    int mod = f.getModifiers();
                    if (Modifier.isStatic(mod) || Modifier.isTransient(mod) || f.isSynthetic()) {
                        continue;
                    }
                    ObjectNode property = schemaFor(f.getType(), f.getGenericType(), visiting);
                    if (f.getType().isPrimitive()) {
                        required.add(f.getName());
                    } else {
                        allowNull(property);
                    }
                    properties.set(f.getName(), property);
                }
            }
        }
        if (!required.isEmpty()) {
            node.set("required", required);
        }
    }

    /** An optional property may also be sent as JSON {@code null}. */
    private static void allowNull(ObjectNode property) {
        JsonNode type = property.get("type");
        if (type != null && type.isTextual()) {
            ArrayNode types = property.putArray("type");
            types.add(type.asText());
            types.add("null");
        }
        JsonNode values = property.get("enum");
        if (values instanceof ArrayNode array) {
            array.addNull();
        }
    }

    private static boolean isNullable(AnnotatedElement element) {
        for (Annotation a : element.getAnnotations()) {
            if (a.annotationType().getSimpleName().equals("Nullable")) {
                return true;
            }
        }
        if (element instanceof RecordComponent rc) {
            for (Annotation a : rc.getAnnotatedType().getAnnotations()) {
                if (a.annotationType().getSimpleName().equals("Nullable")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static @org.jspecify.annotations.Nullable Type typeArgument(Type generic, int index) {
        if (generic instanceof ParameterizedType p && p.getActualTypeArguments().length > index) {
            return p.getActualTypeArguments()[index];
        }
        return null;
    }

    private static Class<?> rawClass(Type type) {
        if (type instanceof Class<?> c) {
            return c;
        }
        if (type instanceof ParameterizedType p && p.getRawType() instanceof Class<?> c) {
            return c;
        }
        return Object.class;
    }
}
