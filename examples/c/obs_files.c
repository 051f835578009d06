/*
 * obs_files: the JetStream object store (ADR-20).
 *
 * Creates the bucket "files" (file storage), stores a report from bytes and
 * 1 MiB of data from a read callback, reads the data back in 64 KiB
 * pieces, adds a link to the report and reads through it, lists the bucket,
 * then deletes the report and lists it again.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_obs_files
 *
 * An object is kept as chunks of 128 KiB and one meta message that carries
 * its size and SHA-256 digest; a read checks both at the end.
 */
#include "example.h"

/* The read callback's source: 1 MiB made up on the way (a real program
 * would read a file here). */
static long read_data(void *arg, void *buf, size_t cap)
{
    size_t *done = arg, n = 0;
    for (; n < cap && *done < 1024 * 1024; n++, (*done)++)
        ((unsigned char *)buf)[n] = (unsigned char)(*done % 256);
    return (long)n;
}

static void stored(const char *info)
{
    char name[64], digest[64];
    double size = 0, chunks = 0;
    json_string(info, "name", name, sizeof name);
    json_number(info, "size", &size);
    json_number(info, "chunks", &chunks);
    json_string(info, "digest", digest, sizeof digest);
    printf("Stored %s: %.0f bytes in %.0f chunks, %s\n", name, size, chunks,
           digest);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Print the names the bucket lists, sorted. The list is a JSON array of
 * infos; an info's own "name" is the one at depth 2 (a link's target is
 * deeper), which is all this scan looks for. */
static int print_names(jw_obs *obs, const char *title)
{
    char *list = NULL, names[16][64];
    int n = 0, depth = 0;
    jw_status st = jw_obs_list(obs, 0, &list);
    if (st != JW_OK) {
        report("list", st);
        return 0;
    }
    for (const char *p = list; *p; p++) {
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']')
            depth--;
        else if (*p == '"') {
            if (depth == 2 && n < 16 && strncmp(p, "\"name\":", 7) == 0)
                json_string(p, "name", names[n++], sizeof names[0]);
            for (p++; *p && *p != '"'; p++) /* skip the string */
                if (*p == '\\' && p[1])
                    p++;
        }
    }
    jw_free(list);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    printf("%s:", title);
    for (int i = 0; i < n; i++)
        printf("%s %s", i ? "," : "", names[i]);
    printf("\n");
    return 1;
}

int main(void)
{
    example_name = "obs_files";
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_obs *obs = NULL;
    jw_obs_reader *r = NULL;
    char *info = NULL, *info2 = NULL;
    void *linked = NULL;
    size_t len = 0, made = 0, total = 0, got = 0;
    static char report_text[180000], piece[65536];
    jw_status st;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    jw_js_obs_delete(js, "files"); /* start from zero */
    if ((st = jw_js_obs_create(js, "{\"bucket\":\"files\",\"storage\":\"file\"}",
                               &obs))) {
        report("create bucket", st);
        goto out;
    }

    /* From bytes, with a description; then from a read callback. */
    for (int i = 0; i < 10000; i++)
        memcpy(report_text + i * 18, "quarterly numbers\n", 18);
    if ((st = jw_obs_put(obs, "{\"name\":\"report.txt\","
                              "\"description\":\"Q3 report\"}",
                         report_text, sizeof report_text, &info)) ||
        (st = jw_obs_put_stream(obs, "{\"name\":\"data.bin\"}", read_data,
                                &made, &info2))) {
        report("put", st);
        goto out;
    }
    stored(info);
    stored(info2);

    /* Back through a reader, 64 KiB at a time: JW_OK with got 0 is the end,
     * once size and digest were checked (JW_EPROTOCOL if not). */
    if ((st = jw_obs_open(obs, "data.bin", &r))) {
        report("open data.bin", st);
        goto out;
    }
    do {
        if ((st = jw_obs_reader_read(r, piece, sizeof piece, 5000, &got))) {
            report("read data.bin", st);
            goto out;
        }
        total += got;
    } while (got);
    printf("Read data.bin back: %zu bytes, digest checked\n", total);

    /* A link is an object of its own that names another; a get follows
     * it. */
    if ((st = jw_obs_add_link(obs, "latest", obs, "report.txt", NULL)) ||
        (st = jw_obs_get(obs, "latest", &linked, &len, NULL))) {
        report("link", st);
        goto out;
    }
    printf("latest -> report.txt: %zu bytes\n", len);
    if (!print_names(obs, "Objects"))
        goto out;

    /* A delete leaves a marker and purges the chunks; a link to the
     * deleted object stays (a get through it is JW_EKEY_NOT_FOUND). */
    if ((st = jw_obs_delete(obs, "report.txt")) != JW_OK)
        report("delete", st);
    else if (print_names(obs, "After delete"))
        rc = 0;
out:
    jw_free(linked);
    jw_free(info);
    jw_free(info2);
    jw_obs_reader_free(r);
    jw_obs_free(obs);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
