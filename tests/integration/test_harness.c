/* The harness itself: a real server comes up, speaks NATS, and goes away. */
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

TEST(harness_server)
{
    START_SERVER(s, NULL);
    CHECK(s->pid > 0);
    CHECK(s->port > 0);
    char expect_url[64];
    snprintf(expect_url, sizeof expect_url, "nats://127.0.0.1:%d", s->port);
    CHECK_STR(s->url, expect_url);

    int fd = jw_test_raw_connect(s->port);
    CHECK(fd >= 0);
    char line[8192];
    int n = jw_test_raw_read_line(fd, line, sizeof line, 5000);
    CHECK(n > 5);
    CHECK(strncmp(line, "INFO {", 6) == 0);
    /* The server is the one JW_NATS_SERVER names (Debian's 2.9.10 by
     * default): its INFO reports the version its --version does. */
    char version[96];
    CHECK(jw_test_server_version()[0] != '\0');
    snprintf(version, sizeof version, "\"version\":\"%s\"",
             jw_test_server_version());
    fprintf(stderr, "harness_server: %s is nats-server %s\n",
            jw_test_server_binary(), jw_test_server_version());
    CHECK(strstr(line, version) != NULL);
    CHECK(jw_test_version_cmp(jw_test_server_version(), "2.9.10") >= 0);
    CHECK(jw_test_version_cmp("2.10.0", "2.9.10") > 0);
    CHECK(jw_test_version_cmp("2.15.3", "2.15.3") == 0);
    CHECK(jw_test_version_cmp("2.15", "2.15.0") == 0);
    CHECK(jw_test_version_cmp("2.9.10", "2.11.0") < 0);
    CHECK(strstr(line, "\"jetstream\":true") != NULL);
    CHECK(jw_test_raw_write(fd, "CONNECT {\"verbose\":false}\r\nPING\r\n") ==
          0);
    n = jw_test_raw_read_line(fd, line, sizeof line, 5000);
    CHECK(n == 4);
    CHECK_STR(line, "PONG");
    close(fd);

    char dir[sizeof s->dir];
    snprintf(dir, sizeof dir, "%s", s->dir);
    int port = s->port;
    struct stat st;
    CHECK(stat(dir, &st) == 0);
    jw_test_server_stop(s);
    CHECK(stat(dir, &st) != 0);
    fd = jw_test_raw_connect(port);
    CHECK(fd < 0);
    return 0;
}
