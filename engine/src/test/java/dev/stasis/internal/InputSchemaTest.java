package dev.stasis.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.DocumentReview;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class InputSchemaTest {

    private final ObjectMapper mapper = Json.defaultMapper();

    record Line(String sku, int quantity) {}

    record Request(String title, double amount, boolean urgent, @Nullable String note, DocumentReview.Decision decision,
            List<Line> lines) {}

    private JsonNode json(String text) throws Exception {
        return mapper.readTree(text);
    }

    @Test
    @DisplayName("a record's schema lists its properties, requires the non-nullable ones and enumerates enums")
    void derivesFromRecord() {
        JsonNode schema = InputSchema.derive(Request.class).document();
        assertThat(schema.at("/type").asText()).isEqualTo("object");
        assertThat(schema.at("/properties/title/type").asText()).isEqualTo("string");
        assertThat(schema.at("/properties/amount/type").asText()).isEqualTo("number");
        assertThat(schema.at("/properties/urgent/type").asText()).isEqualTo("boolean");
        assertThat(schema.at("/properties/note/type").toString()).isEqualTo("[\"string\",\"null\"]");
        assertThat(schema.at("/properties/decision/enum").toString()).contains("APPROVE", "REJECT");
        assertThat(schema.at("/properties/lines/items/properties/quantity/type").asText()).isEqualTo("integer");
        assertThat(schema.at("/required").toString()).contains("title", "amount", "decision").doesNotContain("note");
    }

    @Test
    @DisplayName("validation reports each violation with its path")
    void validates() throws Exception {
        InputSchema schema = InputSchema.derive(Request.class);
        assertThat(schema.validate(json("""
                {"title":"t","amount":1.5,"urgent":false,"note":null,"decision":"APPROVE",
                 "lines":[{"sku":"a","quantity":2}]}"""))).isEmpty();
        var violations = schema.validate(json("""
                {"title":7,"amount":"x","urgent":false,"decision":"MAYBE","lines":[{"sku":"a","quantity":1.5}]}"""));
        assertThat(violations).extracting(v -> v.path())
                .contains("/title", "/amount", "/decision", "/lines/0/quantity");
    }

    @Test
    @DisplayName("an explicit schema is used as given")
    void explicitSchema() throws Exception {
        InputSchema schema = InputSchema.of(json("{\"type\":\"string\",\"minLength\":3}"));
        assertThat(schema.validate(json("\"abcd\""))).isEmpty();
        assertThat(schema.validate(json("\"ab\""))).hasSize(1);
    }

    @Test
    @DisplayName("equal schemas share one compiled schema; a change to the caller's node does not reach the cache")
    void cacheByContent() throws Exception {
        com.fasterxml.jackson.databind.node.ObjectNode given =
                (com.fasterxml.jackson.databind.node.ObjectNode) json("{\"type\":\"string\",\"minLength\":5}");
        InputSchema first = InputSchema.of(given);
        // an equal tree parsed separately (as every resume parses its wait's schema from the stored state)
        assertThat(InputSchema.of(json("{\"type\":\"string\",\"minLength\":5}"))).isSameAs(first);

        given.put("minLength", 1);
        InputSchema changed = InputSchema.of(given);
        assertThat(changed).isNotSameAs(first);
        assertThat(changed.validate(json("\"ab\""))).isEmpty();
        // the original content still finds the original schema, which still rejects short text
        InputSchema again = InputSchema.of(json("{\"type\":\"string\",\"minLength\":5}"));
        assertThat(again).isSameAs(first);
        assertThat(again.validate(json("\"ab\""))).hasSize(1);
    }
}
