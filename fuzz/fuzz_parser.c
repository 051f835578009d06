/*
 * The protocol reader (core/protocol/parser.c) on arbitrary bytes.
 *
 * Input: one control byte, then up to 15 chunk sizes, then the stream.
 *   control bits 0-1: max_line (default, 32, 128, 1024)
 *   control bits 2-3: max_payload (default, 16, 256, 4096)
 *   control bits 4-7: how many chunk-size bytes follow (0: feed bytewise)
 * The stream is parsed three times: whole in one feed, split into chunks
 * of the given sizes (cycled), and whole again after a reset of the split
 * parser. All three must produce the same events, the same status, the
 * same error text and the same pending state: the reader is a pure state
 * machine, so where the input was cut must not matter. Each chunk lives
 * in its own exact-size allocation that is freed after its feed, so ASan
 * sees any view that outlives its callback or reads past a chunk.
 */
#include "fuzz.h"
#include "jetwire.h"
#include "parser.h"

#include <stddef.h>
#include <stdint.h>

static const size_t max_lines[4] = {0, 32, 128, 1024};
static const size_t max_payloads[4] = {0, 16, 256, 4096};

static int is_control(unsigned char c)
{
    return c < 0x20 && c != '\t';
}

/* What every event must look like, whatever the input was. */
static void check_event(const jw__proto_event *ev)
{
    switch (ev->op) {
    case JW__OP_MSG:
        FUZZ_CHECK(ev->subject && ev->subject_len > 0);
        for (size_t i = 0; i < ev->subject_len; i++)
            FUZZ_CHECK((unsigned char)ev->subject[i] > ' ');
        FUZZ_CHECK(!ev->reply == !ev->reply_len);
        for (size_t i = 0; i < ev->reply_len; i++)
            FUZZ_CHECK((unsigned char)ev->reply[i] > ' ');
        FUZZ_CHECK(!ev->hdr == !ev->hdr_len);
        if (ev->hdr) {
            FUZZ_CHECK(ev->hdr_len >= 12);
            FUZZ_CHECK(memcmp(ev->hdr, "NATS/1.0", 8) == 0);
            FUZZ_CHECK(ev->data == ev->hdr + ev->hdr_len);
        }
        FUZZ_CHECK(ev->data != NULL);
        FUZZ_CHECK(ev->text == NULL && ev->text_len == 0);
        break;
    case JW__OP_INFO:
    case JW__OP_ERR:
        FUZZ_CHECK(ev->text || !ev->text_len);
        for (size_t i = 0; i < ev->text_len; i++)
            FUZZ_CHECK(!is_control((unsigned char)ev->text[i]));
        FUZZ_CHECK(ev->subject == NULL && ev->data == NULL);
        break;
    case JW__OP_PING:
    case JW__OP_PONG:
    case JW__OP_OK:
        FUZZ_CHECK(ev->text == NULL && ev->text_len == 0);
        FUZZ_CHECK(ev->subject == NULL && ev->data == NULL);
        break;
    default:
        FUZZ_CHECK(!"unknown op");
    }
}

static int on_event(void *arg, const jw__proto_event *ev)
{
    fuzz_rec *r = arg;
    check_event(ev);
    fuzz_rec_u64(r, (uint64_t)ev->op);
    fuzz_rec_field(r, ev->subject, ev->subject_len);
    fuzz_rec_u64(r, ev->reply != NULL);
    fuzz_rec_field(r, ev->reply, ev->reply_len);
    fuzz_rec_u64(r, ev->sid);
    fuzz_rec_field(r, ev->hdr, ev->hdr_len);
    fuzz_rec_field(r, ev->data, ev->data_len);
    fuzz_rec_field(r, ev->text, ev->text_len);
    return 0;
}

/* Feed len bytes from a private exact-size copy, freed right after. */
static int feed_copy(jw__parser *p, const uint8_t *data, size_t len,
                     fuzz_rec *r)
{
    char *chunk = malloc(len ? len : 1);
    FUZZ_CHECK(chunk != NULL);
    if (len)
        memcpy(chunk, data, len);
    int rc = jw__parser_feed(p, chunk, len, on_event, r);
    free(chunk);
    return rc;
}

/* The end of a run: its status, why it failed, and what it kept for the
 * next feed. */
static void record_end(const jw__parser *p, int rc, fuzz_rec *r)
{
    fuzz_rec_u64(r, (uint64_t)(int64_t)rc);
    fuzz_rec_u64(r, (uint64_t)p->state);
    if (rc == JW_EPROTOCOL)
        fuzz_rec_field(r, p->error, strlen(p->error));
    else
        fuzz_rec_u64(r, 0);
    if (rc == 0) {
        fuzz_rec_u64(r, p->line_len);
        fuzz_rec_u64(r, p->want);
        fuzz_rec_u64(r, p->payload_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned control = data[0];
    size_t nsizes = control >> 4;
    if (size < 1 + nsizes)
        return 0;
    const uint8_t *sizes = data + 1;
    const uint8_t *stream = data + 1 + nsizes;
    size_t len = size - 1 - nsizes;
    size_t max_line = max_lines[control & 3];
    size_t max_payload = max_payloads[(control >> 2) & 3];

    /* Whole. */
    jw__parser whole;
    fuzz_rec rw = {0};
    jw__parser_init(&whole, max_line, max_payload);
    int rc = feed_copy(&whole, stream, len, &rw);
    record_end(&whole, rc, &rw);
    /* A rejected stream stays rejected, and says nothing more. */
    if (rc == JW_EPROTOCOL) {
        size_t before = rw.len;
        FUZZ_CHECK(jw__parser_feed(&whole, "PING\r\n", 6, on_event, &rw) ==
                   JW_EPROTOCOL);
        FUZZ_CHECK(rw.len == before);
    }
    FUZZ_CHECK(rc == 0 || rc == JW_EPROTOCOL);

    /* Split at the chosen points. */
    jw__parser split;
    fuzz_rec rs = {0};
    jw__parser_init(&split, max_line, max_payload);
    size_t pos = 0, k = 0;
    rc = 0;
    while (pos < len && rc == 0) {
        size_t n = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : 1;
        if (n > len - pos)
            n = len - pos;
        rc = feed_copy(&split, stream + pos, n, &rs);
        pos += n;
    }
    record_end(&split, rc, &rs);
    FUZZ_CHECK(fuzz_rec_equal(&rw, &rs));

    /* A reset forgets everything: the same parser reads the stream anew. */
    jw__parser_reset(&split);
    fuzz_rec rr = {0};
    rc = feed_copy(&split, stream, len, &rr);
    record_end(&split, rc, &rr);
    FUZZ_CHECK(fuzz_rec_equal(&rw, &rr));

    jw__parser_free(&whole);
    jw__parser_free(&split);
    fuzz_rec_free(&rw);
    fuzz_rec_free(&rs);
    fuzz_rec_free(&rr);
    return 0;
}
