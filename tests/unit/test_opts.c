/* jw_opts_fields: the one table of connection options the bindings read;
 * each entry is what its setter takes. */
#include <jansson.h>
#include <string.h>

#include "jetwire.h"
#include "test.h"

TEST(opts_fields_match_setters)
{
    char *text = NULL;
    CHECK(jw_opts_fields(&text) == JW_OK);
    json_error_t err;
    json_t *list = json_loads(text, 0, &err);
    jw_free(text);
    CHECK(json_is_array(list) && json_array_size(list) > 20);
    jw_opts *o = NULL;
    CHECK(jw_opts_new(&o) == JW_OK);
    size_t i, durations = 0, binding = 0;
    json_t *f;
    json_array_foreach(list, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        json_t *def = json_object_get(f, "default");
        json_t *min = json_object_get(f, "min");
        CHECK(name && type);
        binding += json_is_true(json_object_get(f, "binding"));
        if (!strcmp(type, "string")) {
            CHECK(jw_opts_set_str(o, name, "x") == JW_OK);
            CHECK(jw_opts_set_int(o, name, 1) == JW_EINVAL);
        } else if (!strcmp(type, "boolean")) {
            CHECK(json_is_boolean(def));
            CHECK(jw_opts_set_bool(o, name, 1) == JW_OK);
            CHECK(jw_opts_set_str(o, name, "x") == JW_EINVAL);
        } else {
            CHECK(!strcmp(type, "integer") || !strcmp(type, "duration"));
            durations += !strcmp(type, "duration");
            CHECK(json_is_integer(def));
            CHECK(jw_opts_set_int(o, name, json_integer_value(def)) == JW_OK);
            CHECK(jw_opts_set_bool(o, name, 1) == JW_EINVAL);
            if (json_is_integer(min)) {
                CHECK(json_integer_value(def) >= json_integer_value(min));
                CHECK(jw_opts_set_int(o, name, json_integer_value(min)) ==
                      JW_OK);
                CHECK(jw_opts_set_int(o, name,
                                      json_integer_value(min) - 1) ==
                      JW_EINVAL);
            } else {
                CHECK(json_is_null(min));
                CHECK(jw_opts_set_int(o, name, -1) == JW_OK);
            }
        }
    }
    CHECK_EQ_INT(durations, 6);
    CHECK_EQ_INT(binding, 2); /* lang, lang_version */
    CHECK(jw_opts_set_int(o, "no_such_option", 1) == JW_EINVAL);
    jw_opts_free(o);
    json_decref(list);
    return 0;
}
