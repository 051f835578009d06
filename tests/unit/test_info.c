/* The server's INFO as the connection reads it: the parts a real server
 * never sends, from a one-connection fake server on a loopback port. Each
 * case here began as a finding of fuzz/fuzz_info.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jetwire.h"
#include "test.h"

typedef struct fake {
    int listen_fd;
    int port;
    const char *info; /* the JSON after "INFO " */
    pthread_t thread;
} fake;

/* Accept one client, send the INFO, answer its PING, then wait for it to
 * hang up. */
static void *fake_serve(void *arg)
{
    fake *f = arg;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char line[1024];
    int n = snprintf(line, sizeof(line), "INFO %s\r\n", f->info);
    if (write(fd, line, (size_t)n) != n)
        goto done;
    char in[4096];
    size_t have = 0;
    int answered = 0;
    for (;;) {
        ssize_t got = read(fd, in + have, sizeof(in) - 1 - have);
        if (got <= 0)
            break;
        have += (size_t)got;
        in[have] = '\0';
        if (!answered && strstr(in, "PING\r\n")) {
            answered = 1;
            if (write(fd, "PONG\r\n", 6) != 6)
                break;
        }
        if (have == sizeof(in) - 1)
            have = 0; /* only the first PING matters */
    }
done:
    close(fd);
    return NULL;
}

static int fake_start(fake *f, const char *info)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->info = info;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->listen_fd < 0 ||
        bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(f->listen_fd, 1) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    f->port = ntohs(addr.sin_port);
    return pthread_create(&f->thread, NULL, fake_serve, f);
}

static void fake_stop(fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}

/* Connect to a fake server sending `info`; *max_payload is what the
 * connection then reports. */
static int max_payload_after(const char *info, int64_t *max_payload)
{
    fake f;
    char url[64];
    jw_conn *c = NULL;
    if (fake_start(&f, info) != 0)
        return -1;
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", f.port);
    jw_status rc = jw_conn_connect(url, NULL, &c);
    if (rc == JW_OK)
        *max_payload = jw_conn_max_payload(c);
    jw_conn_free(c); /* the fake server sees the hang-up and ends */
    fake_stop(&f);
    return rc;
}

TEST(info_max_payload)
{
    int64_t max = -1;
    CHECK_EQ_INT(max_payload_after("{\"max_payload\":1024}", &max), JW_OK);
    CHECK_EQ_INT(max, 1024);
    max = -1;
    CHECK_EQ_INT(max_payload_after("{\"server_id\":\"x\"}", &max), JW_OK);
    CHECK_EQ_INT(max, 0);
    return 0;
}

/* jw_conn_max_payload promises 0 when the limit is unknown; a negative
 * INFO value used to come through as it was. */
TEST(info_negative_max_payload)
{
    int64_t max = -1;
    CHECK_EQ_INT(max_payload_after("{\"max_payload\":-1}", &max), JW_OK);
    CHECK_EQ_INT(max, 0);
    max = -1;
    CHECK_EQ_INT(
        max_payload_after("{\"max_payload\":-9223372036854775808}", &max),
        JW_OK);
    CHECK_EQ_INT(max, 0);
    return 0;
}
