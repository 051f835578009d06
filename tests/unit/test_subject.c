/* Subject validation and matching (protocol.md 5). */
#include "jetwire.h"
#include "subject.h"
#include "test.h"

static int check_len(const char *s, size_t len, int wildcards)
{
    return jw__subject_check(s, len, wildcards);
}

static int check(const char *s, int wildcards)
{
    return check_len(s, strlen(s), wildcards);
}

TEST(subject_valid_literal)
{
    static const char *const ok[] = {
        "foo", "foo.bar", "a.b.c.d.e.f", "$JS.API.INFO", "_INBOX.abc123",
        "foo*", "f>o", "*foo", ">foo", "foo.b*r.baz", "ünïcödé.ok",
        "A-Z_a-z.0-9", "x",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        CHECK_EQ_INT(check(ok[i], 0), 0);
        CHECK_EQ_INT(check(ok[i], 1), 0);
        CHECK(jw_subject_is_valid(ok[i]));
        CHECK(jw_subject_pattern_is_valid(ok[i]));
    }
    return 0;
}

TEST(subject_invalid_literal)
{
    static const char *const bad[] = {
        "", ".", "..", ".foo", "foo.", "a..b", "foo..", "a b", "a\tb",
        "a\rb", "a\nb", "a\fb", "a\vb", " foo", "foo ", "*", ">",
        "foo.*", "foo.>", "*.foo", "foo.*.bar", ">.foo",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ_INT(check(bad[i], 0), JW_EINVALID_SUBJECT);
        CHECK(!jw_subject_is_valid(bad[i]));
    }
    return 0;
}

TEST(subject_valid_pattern)
{
    static const char *const ok[] = {
        "*", ">", "foo.*", "foo.>", "*.foo", "*.*.*", "foo.*.>", "*.>",
        "foo.*.bar", "foo*.>",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        CHECK_EQ_INT(check(ok[i], 1), 0);
        CHECK(jw_subject_pattern_is_valid(ok[i]));
        CHECK(!jw_subject_is_valid(ok[i]));
    }
    return 0;
}

TEST(subject_invalid_pattern)
{
    static const char *const bad[] = {
        "", ">.foo", "foo.>.bar", ">.>", "foo.", ".*", "*..>", "foo .*",
        "foo.*\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ_INT(check(bad[i], 1), JW_EINVALID_SUBJECT);
        CHECK(!jw_subject_pattern_is_valid(bad[i]));
    }
    return 0;
}

TEST(subject_error_text)
{
    CHECK_EQ_INT(check("a..b", 0), JW_EINVALID_SUBJECT);
    CHECK_STR(jw_last_error(), "invalid subject 'a..b': empty token");
    CHECK_EQ_INT(check("", 0), JW_EINVALID_SUBJECT);
    CHECK_STR(jw_last_error(), "invalid subject '': empty subject");
    CHECK_EQ_INT(check("foo.>.bar", 1), JW_EINVALID_SUBJECT);
    CHECK(strstr(jw_last_error(), "last token") != NULL);
    CHECK_EQ_INT(check("foo.*", 0), JW_EINVALID_SUBJECT);
    CHECK(strstr(jw_last_error(), "wildcard") != NULL);
    CHECK_EQ_INT(check("a b", 0), JW_EINVALID_SUBJECT);
    CHECK(strstr(jw_last_error(), "whitespace") != NULL);

    /* A long subject is cut short in the text. */
    char long_subject[300];
    memset(long_subject, 'x', sizeof(long_subject));
    long_subject[150] = ' ';
    CHECK_EQ_INT(check_len(long_subject, sizeof(long_subject), 0),
                 JW_EINVALID_SUBJECT);
    CHECK(strlen(jw_last_error()) < 120);
    CHECK(strstr(jw_last_error(), "...") != NULL);
    return 0;
}

TEST(subject_success_keeps_error)
{
    jw__subject_check("a..b", 4, 0);
    CHECK_EQ_INT(check("foo.bar", 0), 0);
    CHECK_EQ_INT(check("foo.>", 1), 0);
    CHECK_EQ_INT(jw__queue_check("q", 1), 0);
    CHECK(jw_subject_matches("foo.*", "foo.bar"));
    CHECK(!jw_subject_matches("foo.*", "bar.foo"));
    CHECK_STR(jw_last_error(), "invalid subject 'a..b': empty token");
    return 0;
}

TEST(subject_length_bounded)
{
    /* Only len bytes count: what follows is not part of the subject. */
    CHECK_EQ_INT(check_len("foo.bar baz", 7, 0), 0);
    CHECK_EQ_INT(check_len("foo..", 3, 0), 0);
    CHECK_EQ_INT(check_len("foo.", 4, 0), JW_EINVALID_SUBJECT);
    /* An embedded NUL inside len is invalid. */
    CHECK_EQ_INT(check_len("foo\0bar", 7, 0), JW_EINVALID_SUBJECT);
    CHECK(strstr(jw_last_error(), "NUL") != NULL);
    CHECK_EQ_INT(jw__subject_check(NULL, 0, 0), JW_EINVALID_SUBJECT);
    CHECK_EQ_INT(jw__subject_check(NULL, 5, 1), JW_EINVALID_SUBJECT);
    return 0;
}

TEST(subject_queue_check)
{
    CHECK_EQ_INT(jw__queue_check("workers", 7), 0);
    CHECK_EQ_INT(jw__queue_check("a.b*>", 5), 0);
    CHECK_EQ_INT(jw__queue_check("", 0), JW_EINVAL);
    CHECK_EQ_INT(jw__queue_check(NULL, 0), JW_EINVAL);
    CHECK_EQ_INT(jw__queue_check("a b", 3), JW_EINVAL);
    CHECK_EQ_INT(jw__queue_check("ab\t", 3), JW_EINVAL);
    CHECK_EQ_INT(jw__queue_check("a\nb", 3), JW_EINVAL);
    CHECK_EQ_INT(jw__queue_check("a\0b", 3), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "queue group") != NULL);
    return 0;
}

static const struct {
    const char *pattern, *subject;
    int match;
} matches[] = {
    {"foo", "foo", 1},
    {"foo", "bar", 0},
    {"foo", "foo.bar", 0},
    {"foo.bar", "foo", 0},
    {"foo.bar", "foo.bar", 1},
    {"foo.bar", "foo.baz", 0},
    {"foo.bar", "foo.barx", 0},
    {"foo.barx", "foo.bar", 0},
    {"*", "foo", 1},
    {"*", "foo.bar", 0},
    {"foo.*", "foo.bar", 1},
    {"foo.*", "foo", 0},
    {"foo.*", "foo.bar.baz", 0},
    {"*.bar", "foo.bar", 1},
    {"*.bar", "foo.baz", 0},
    {"*.*", "a.b", 1},
    {"*.*", "a.b.c", 0},
    {"foo.*.baz", "foo.bar.baz", 1},
    {"foo.*.baz", "foo.bar.qux", 0},
    {">", "foo", 1},
    {">", "foo.bar.baz", 1},
    {"foo.>", "foo", 0},
    {"foo.>", "foo.bar", 1},
    {"foo.>", "foo.bar.baz", 1},
    {"foo.>", "bar.baz", 0},
    {"*.>", "foo", 0},
    {"*.>", "foo.bar", 1},
    {"foo.*.>", "foo.bar", 0},
    {"foo.*.>", "foo.bar.baz.qux", 1},
    {"foo*", "foo*", 1},
    {"foo*", "foox", 0},
    {"foo*", "foo", 0},
    {"foo*.>", "foo*.bar", 1},
    {"f>o", "f>o", 1},
    {"a.b.c.d.e", "a.b.c.d.e", 1},
    {"a.b.c.d.e", "a.b.c.d.f", 0},
    {"a.*.c.*.e", "a.x.c.y.e", 1},
    {"$JS.API.>", "$JS.API.STREAM.INFO.S", 1},
    {"_INBOX.abc.*", "_INBOX.abc.1", 1},
    {"_INBOX.abc.*", "_INBOX.abd.1", 0},
};

TEST(subject_match_table)
{
    for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
        const char *p = matches[i].pattern, *s = matches[i].subject;
        int got = jw_subject_matches(p, s);
        if (got != matches[i].match)
            fprintf(stderr, "pattern '%s' subject '%s'\n", p, s);
        CHECK_EQ_INT(got, matches[i].match);
        CHECK_EQ_INT(jw__subject_matches(p, strlen(p), s, strlen(s)),
                     matches[i].match);
    }
    return 0;
}

TEST(subject_match_lengths)
{
    /* The internal matcher reads only plen and slen bytes. */
    CHECK(jw__subject_matches("foo.>xyz", 5, "foo.bar!", 7));
    CHECK(!jw__subject_matches("foo.*", 5, "foo.bar.baz", 11));
    CHECK(jw__subject_matches("foo.*", 5, "foo.bar.baz", 7));
    CHECK(!jw__subject_matches("foo", 3, "foo", 0));
    CHECK(!jw__subject_matches("", 0, "foo", 3));
    return 0;
}

TEST(subject_match_rejects_invalid)
{
    CHECK(!jw_subject_matches(NULL, "foo"));
    CHECK(!jw_subject_matches("foo", NULL));
    CHECK(!jw_subject_matches(NULL, NULL));
    CHECK(!jw_subject_matches("foo.>.bar", "foo.x.bar"));
    CHECK(!jw_subject_matches(">", "foo.*"));
    CHECK(!jw_subject_matches(">", "foo..bar"));
    CHECK(!jw_subject_matches("*", ""));
    CHECK(!jw_subject_matches("", ""));
    CHECK(!jw_subject_is_valid(NULL));
    CHECK(!jw_subject_pattern_is_valid(NULL));
    return 0;
}
