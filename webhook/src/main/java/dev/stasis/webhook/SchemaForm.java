package dev.stasis.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stasis.InputValidationException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * An HTML form derived from a wait's JSON schema, and the way back from the submitted form to a JSON input.
 *
 * <p>An object schema with {@code properties} gives one field per property (in schema order, {@code required} ones
 * marked); any other schema gives one field for the whole value. Field kinds: boolean → select yes/no, {@code enum}
 * → select, integer/number → number input, string → text input ({@code format: date} → date input), anything else
 * (objects, arrays, untyped) → a textarea holding JSON. A {@code ["type", "null"]} union counts as its non-null type.
 *
 * <p>Conversion is deliberately lenient: an empty field is left out, and a value that does not parse as its type is
 * passed on as a string, so that the wait's schema (not this class) decides what is valid and its violations are
 * shown next to the fields.
 */
final class SchemaForm {

    enum Kind { BOOLEAN, ENUM, INTEGER, NUMBER, STRING, DATE, JSON }

    /**
     * One input.
     *
     * @param name the property name ("" for a whole-value form)
     * @param label what the person reads
     * @param help the property's description, or null
     * @param kind the input kind
     * @param required whether the schema requires it
     * @param options the allowed values of an enum (null excluded)
     */
    record Field(String name, String label, @Nullable String help, Kind kind, boolean required, List<JsonNode> options) {

        String formName() {
            return name.isEmpty() ? "value" : "field." + name;
        }

        String id(String prefix) {
            return prefix + "-" + (name.isEmpty() ? "value" : name.replaceAll("[^A-Za-z0-9_-]", "_"));
        }
    }

    private static final Pattern REQUIRED = Pattern.compile("required property '([^']+)'");

    private final List<Field> fields;
    private final boolean object;

    private SchemaForm(List<Field> fields, boolean object) {
        this.fields = List.copyOf(fields);
        this.object = object;
    }

    /** The form for a schema ({@code null}: one JSON field). */
    static SchemaForm of(@Nullable JsonNode schema) {
        if (schema != null && schema.path("properties").isObject() && types(schema).contains("object")) {
            Set<String> required = new HashSet<>();
            schema.path("required").forEach(r -> required.add(r.asText()));
            List<Field> fields = new ArrayList<>();
            schema.get("properties").properties().forEach(e ->
                    fields.add(field(e.getKey(), e.getValue(), required.contains(e.getKey()))));
            return new SchemaForm(fields, true);
        }
        return new SchemaForm(List.of(field("", schema == null ? JsonNodeFactory.instance.objectNode() : schema, true)),
                false);
    }

    List<Field> fields() {
        return fields;
    }

    private static Field field(String name, JsonNode prop, boolean required) {
        Set<String> types = types(prop);
        types.remove("null");
        List<JsonNode> options = new ArrayList<>();
        prop.path("enum").forEach(v -> {
            if (!v.isNull()) {
                options.add(v);
            }
        });
        Kind kind;
        if (!options.isEmpty()) {
            kind = Kind.ENUM;
        } else if (types.equals(Set.of("boolean"))) {
            kind = Kind.BOOLEAN;
        } else if (types.equals(Set.of("integer"))) {
            kind = Kind.INTEGER;
        } else if (types.equals(Set.of("number")) || types.equals(Set.of("integer", "number"))) {
            kind = Kind.NUMBER;
        } else if (types.equals(Set.of("string"))) {
            kind = "date".equals(prop.path("format").asText()) ? Kind.DATE : Kind.STRING;
        } else {
            kind = Kind.JSON;
        }
        String title = prop.path("title").asText("");
        String label = !title.isEmpty() ? title : name.isEmpty() ? "Value" : name;
        String description = prop.path("description").asText("");
        return new Field(name, label, description.isEmpty() ? null : description, kind, required, options);
    }

    private static Set<String> types(JsonNode schema) {
        Set<String> types = new HashSet<>();
        JsonNode type = schema.get("type");
        if (type != null && type.isTextual()) {
            types.add(type.asText());
        } else if (type != null && type.isArray()) {
            type.forEach(t -> types.add(t.asText()));
        }
        return types;
    }

    /** The JSON input from submitted form values ({@code field.<name>} or {@code value}). */
    JsonNode toJson(Map<String, List<String>> form, ObjectMapper mapper) {
        if (!object) {
            Field f = fields.get(0);
            JsonNode v = convert(f, first(form, f.formName()), mapper);
            return v == null ? JsonNodeFactory.instance.nullNode() : v;
        }
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        for (Field f : fields) {
            JsonNode v = convert(f, first(form, f.formName()), mapper);
            if (v != null) {
                out.set(f.name(), v);
            }
        }
        return out;
    }

    private static @Nullable String first(Map<String, List<String>> form, String name) {
        List<String> values = form.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static @Nullable JsonNode convert(Field f, @Nullable String raw, ObjectMapper mapper) {
        if (raw == null || raw.isEmpty()) {
            return null;
        }
        JsonNodeFactory n = JsonNodeFactory.instance;
        switch (f.kind()) {
            case BOOLEAN -> {
                if (raw.equals("true") || raw.equals("on")) return n.booleanNode(true);
                if (raw.equals("false")) return n.booleanNode(false);
                return n.textNode(raw);
            }
            case ENUM -> {
                for (JsonNode option : f.options()) {
                    if (option.asText().equals(raw)) return option;
                }
                return n.textNode(raw);
            }
            case INTEGER -> {
                try {
                    return n.numberNode(new BigInteger(raw.trim()));
                } catch (NumberFormatException e) {
                    return n.textNode(raw);
                }
            }
            case NUMBER -> {
                try {
                    BigDecimal d = new BigDecimal(raw.trim());
                    return d.scale() <= 0 ? n.numberNode(d.toBigIntegerExact()) : n.numberNode(d);
                } catch (NumberFormatException | ArithmeticException e) {
                    return n.textNode(raw);
                }
            }
            case JSON -> {
                try {
                    return mapper.readTree(raw);
                } catch (JsonProcessingException e) {
                    return n.textNode(raw);
                }
            }
            default -> {
                return n.textNode(raw);
            }
        }
    }

    /**
     * Sorts violations by field: a pointer {@code /name/...} belongs to {@code name}, a root-level "required
     * property 'x'" message to {@code x}; the rest to "" (shown above the fields).
     */
    Map<String, List<String>> errorsByField(List<InputValidationException.Violation> violations) {
        Set<String> names = new HashSet<>();
        fields.forEach(f -> names.add(f.name()));
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (InputValidationException.Violation v : violations) {
            String target = "";
            if (object) {
                String path = v.path();
                if (path.startsWith("/") && path.length() > 1) {
                    int next = path.indexOf('/', 1);
                    String segment = (next < 0 ? path.substring(1) : path.substring(1, next))
                            .replace("~1", "/").replace("~0", "~");
                    if (names.contains(segment)) {
                        target = segment;
                    }
                } else {
                    Matcher m = REQUIRED.matcher(v.message());
                    if (m.find() && names.contains(m.group(1))) {
                        target = m.group(1);
                    }
                }
            }
            out.computeIfAbsent(target, k -> new ArrayList<>()).add(v.message());
        }
        return out;
    }

    /** The inputs of the form as HTML, pre-filled with {@code values} (by form name), errors next to their fields. */
    String renderFields(String idPrefix, Map<String, String> values, Map<String, List<String>> errors) {
        StringBuilder h = new StringBuilder();
        for (Field f : fields) {
            String id = f.id(idPrefix);
            String value = values.getOrDefault(f.formName(), "");
            List<String> fieldErrors = errors.getOrDefault(f.name(), List.of());
            h.append("<div class=\"field").append(fieldErrors.isEmpty() ? "" : " invalid").append("\">");
            h.append("<label for=\"").append(Html.esc(id)).append("\">").append(Html.esc(f.label()));
            if (f.required()) {
                h.append(" <span class=\"req\" title=\"required\">*</span>");
            }
            h.append("</label>");
            String req = f.required() ? " required" : "";
            String common = " id=\"" + Html.esc(id) + "\" name=\"" + Html.esc(f.formName()) + "\"" + req;
            switch (f.kind()) {
                case BOOLEAN -> {
                    h.append("<select").append(common).append(">");
                    option(h, "", f.required() ? "— choose —" : "(not set)", value);
                    option(h, "true", "yes", value);
                    option(h, "false", "no", value);
                    h.append("</select>");
                }
                case ENUM -> {
                    h.append("<select").append(common).append(">");
                    option(h, "", f.required() ? "— choose —" : "(not set)", value);
                    for (JsonNode o : f.options()) {
                        option(h, o.asText(), o.asText(), value);
                    }
                    h.append("</select>");
                }
                case INTEGER -> h.append("<input type=\"number\" step=\"1\"").append(common)
                        .append(" value=\"").append(Html.esc(value)).append("\">");
                case NUMBER -> h.append("<input type=\"number\" step=\"any\"").append(common)
                        .append(" value=\"").append(Html.esc(value)).append("\">");
                case DATE -> h.append("<input type=\"date\"").append(common)
                        .append(" value=\"").append(Html.esc(value)).append("\">");
                case STRING -> h.append("<input type=\"text\"").append(common)
                        .append(" value=\"").append(Html.esc(value)).append("\">");
                default -> h.append("<textarea rows=\"4\" placeholder=\"JSON\"").append(common).append(">")
                        .append(Html.esc(value)).append("</textarea>");
            }
            if (f.help() != null) {
                h.append("<p class=\"help\">").append(Html.esc(f.help())).append("</p>");
            }
            for (String e : fieldErrors) {
                h.append("<p class=\"error\">").append(Html.esc(e)).append("</p>");
            }
            h.append("</div>");
        }
        return h.toString();
    }

    private static void option(StringBuilder h, String value, String label, String selected) {
        h.append("<option value=\"").append(Html.esc(value)).append("\"")
                .append(value.equals(selected) ? " selected" : "").append(">").append(Html.esc(label))
                .append("</option>");
    }
}
