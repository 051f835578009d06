/*
 * The protocol reader: bytes from the server in, protocol events out.
 *
 * A pure state machine with no sockets and no allocation per message. Feed
 * it whatever a read() returned; it calls back once per complete operation
 * and keeps any partial operation for the next feed. Views in an event point
 * into the fed buffer when the operation arrived whole, or into the parser's
 * own scratch space when it was split; either way they are valid only during
 * the callback.
 */
#ifndef JW_PARSER_H
#define JW_PARSER_H

#include <stddef.h>
#include <stdint.h>

typedef enum jw__op {
    JW__OP_INFO = 1,
    JW__OP_MSG,  /* MSG and HMSG; hdr_len > 0 for HMSG */
    JW__OP_PING,
    JW__OP_PONG,
    JW__OP_OK,
    JW__OP_ERR
} jw__op;

typedef struct jw__proto_event {
    jw__op op;
    /* MSG/HMSG */
    const char *subject;
    size_t subject_len;
    const char *reply; /* NULL when absent */
    size_t reply_len;
    uint64_t sid;
    const char *hdr; /* header block of HMSG, NULL for MSG */
    size_t hdr_len;
    const char *data; /* payload (after the header block) */
    size_t data_len;
    /* INFO: the JSON text; -ERR: the text between the quotes (quotes
     * stripped when present). */
    const char *text;
    size_t text_len;
} jw__proto_event;

/* Return 0 to go on; any other value stops the feed, which returns it. */
typedef int (*jw__parser_cb)(void *arg, const jw__proto_event *ev);

typedef struct jw__parser {
    int state;
    size_t max_line;    /* longest control line accepted */
    size_t max_payload; /* largest MSG/HMSG total size accepted */
    /* A control line split across feeds. */
    char *line;
    size_t line_len, line_cap;
    /* The current MSG/HMSG while its payload is being collected. */
    jw__proto_event msg;
    size_t msg_total;   /* header + payload bytes announced */
    char *payload;      /* scratch for a split payload (+ subject, reply) */
    size_t payload_len, payload_cap;
    size_t want;        /* payload bytes still missing */
    char error[128];    /* why the stream was rejected */
} jw__parser;

/* Default limits: 64 KiB control lines, 64 MiB payloads. */
void jw__parser_init(jw__parser *p, size_t max_line, size_t max_payload);
void jw__parser_reset(jw__parser *p); /* forget any partial op */
void jw__parser_free(jw__parser *p);

/* Parse len bytes. Returns 0 when all were consumed, JW_EPROTOCOL (from
 * jetwire.h) on malformed input (p->error says why; the parser must be reset
 * before reuse), JW_ENO_MEMORY, or the callback's non-zero return. */
int jw__parser_feed(jw__parser *p, const char *buf, size_t len,
                    jw__parser_cb cb, void *arg);

#endif
