/* Starts and stops real nats-server processes for the integration tests. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS         64
#define MAX_LIVE         32
#define START_ATTEMPTS   3
#define READY_TIMEOUT_MS 5000
#define STOP_GRACE_MS    3000

/* Servers started and not yet stopped, for the exit handler. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static jw_test_server *live[MAX_LIVE];
static int exit_handler_installed;

int64_t jw_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jw_test_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The server binary and its version, found once per process. */
static pthread_once_t binary_once = PTHREAD_ONCE_INIT;
static char binary_path[1024];
static char binary_version[64];

static int is_executable(const char *path)
{
    return access(path, X_OK) == 0;
}

static void find_binary(void)
{
    const char *env = getenv("JW_NATS_SERVER");
    if (env != NULL && env[0] != '\0') {
        snprintf(binary_path, sizeof binary_path, "%s", env);
    } else {
        /* nats-server on PATH, else Debian's. */
        snprintf(binary_path, sizeof binary_path, "/usr/sbin/nats-server");
        const char *path = getenv("PATH");
        char *copy = path != NULL ? strdup(path) : NULL;
        char *save = NULL;
        for (char *dir = copy != NULL ? strtok_r(copy, ":", &save) : NULL;
             dir != NULL; dir = strtok_r(NULL, ":", &save)) {
            char candidate[1024];
            if (dir[0] == '\0' ||
                snprintf(candidate, sizeof candidate, "%s/nats-server", dir) >=
                    (int)sizeof candidate)
                continue;
            if (is_executable(candidate)) {
                snprintf(binary_path, sizeof binary_path, "%s", candidate);
                break;
            }
        }
        free(copy);
    }
    /* `nats-server --version` prints "nats-server: v2.15.3". */
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "'%s' --version 2>&1", binary_path);
    FILE *p = strchr(binary_path, '\'') == NULL ? popen(cmd, "r") : NULL;
    if (p == NULL)
        return;
    char line[256];
    if (fgets(line, sizeof line, p) != NULL) {
        const char *v = strstr(line, ": v");
        v = v != NULL ? v + 3 : (line[0] == 'v' ? line + 1 : NULL);
        if (v != NULL) {
            size_t n = strspn(v, "0123456789.");
            if (n > 0 && n < sizeof binary_version) {
                memcpy(binary_version, v, n);
                binary_version[n] = '\0';
            }
        }
    }
    while (fgets(line, sizeof line, p) != NULL) {
    }
    pclose(p);
}

const char *jw_test_server_binary(void)
{
    pthread_once(&binary_once, find_binary);
    return binary_path;
}

const char *jw_test_server_version(void)
{
    pthread_once(&binary_once, find_binary);
    return binary_version;
}

int jw_test_version_cmp(const char *a, const char *b)
{
    for (int part = 0; part < 4; part++) {
        long x = 0, y = 0;
        if (a != NULL && *a != '\0') {
            char *end;
            x = strtol(a, &end, 10);
            a = *end == '.' ? end + 1 : NULL;
        }
        if (b != NULL && *b != '\0') {
            char *end;
            y = strtol(b, &end, 10);
            b = *end == '.' ? end + 1 : NULL;
        }
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

int jw_test_server_at_least(jw_conn *nc, const char *min, const char *what)
{
    char version[64];
    if (jw_conn_server_version(nc, version, sizeof version) != JW_OK ||
        version[0] == '\0') {
        fprintf(stderr, "version branch: %s: the connection reports no "
                        "server version\n", what);
        return -1;
    }
    int newer = jw_test_version_cmp(version, min) >= 0;
    fprintf(stderr, "version branch: %s: server %s %s %s\n", what, version,
            newer ? ">=" : "<", min);
    return newer;
}

jw_status jw_test_connect(const jw_test_server *s, jw_conn **out)
{
    return jw_conn_connect(s->url, NULL, out);
}

/* Bind 127.0.0.1:0 and report the port the kernel chose. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

int jw_test_raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int jw_test_raw_read_line(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t n = 0;
    int64_t deadline = jw_test_now_ms() + timeout_ms;
    if (size == 0)
        return -1;
    for (;;) {
        int64_t left = deadline - jw_test_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        char c;
        ssize_t got = read(fd, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        if (c == '\n' && n > 0 && buf[n - 1] == '\r') {
            buf[n - 1] = '\0';
            return (int)(n - 1);
        }
        if (n + 1 < size)
            buf[n++] = c;
    }
}

int jw_test_raw_write(int fd, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir)
{
    if (dir[0] != '\0')
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void jw_test_server_dump_log(const jw_test_server *s)
{
    if (s == NULL)
        return;
    FILE *f = fopen(s->log_path, "r");
    if (f == NULL)
        return;
    char line[1024];
    fprintf(stderr, "---- nats-server log (%s) ----\n", s->log_path);
    while (fgets(line, sizeof line, f) != NULL)
        fputs(line, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

/* Reap the process: SIGTERM, then SIGKILL after the grace period. */
static void kill_and_reap(pid_t pid)
{
    int status;
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int64_t deadline = jw_test_now_ms() + STOP_GRACE_MS;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        if (jw_test_now_ms() >= deadline)
            break;
        jw_test_sleep_ms(5);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

static void stop_all_at_exit(void)
{
    for (;;) {
        jw_test_server *s = NULL;
        pthread_mutex_lock(&live_lock);
        for (int i = 0; i < MAX_LIVE && s == NULL; i++)
            if (live[i] != NULL)
                s = live[i];
        pthread_mutex_unlock(&live_lock);
        if (s == NULL)
            return;
        jw_test_server_stop(s);
    }
}

static void track(jw_test_server *s, int add)
{
    pthread_mutex_lock(&live_lock);
    if (add && !exit_handler_installed) {
        atexit(stop_all_at_exit);
        exit_handler_installed = 1;
    }
    for (int i = 0; i < MAX_LIVE; i++) {
        if (add && live[i] == NULL) {
            live[i] = s;
            break;
        }
        if (!add && live[i] == s) {
            live[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

/* Split extra on spaces into argv[*argc...]; the copy must outlive exec. */
static int split_args(char *copy, char **argv, int *argc)
{
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok != NULL;
         tok = strtok_r(NULL, " \t", &save)) {
        if (*argc >= MAX_ARGS - 1)
            return -1;
        argv[(*argc)++] = tok;
    }
    return 0;
}

/* Wait until the port answers with an INFO line, or the child exits. */
static int wait_ready(jw_test_server *s)
{
    int64_t deadline = jw_test_now_ms() + READY_TIMEOUT_MS;
    while (jw_test_now_ms() < deadline) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = -1;
            return -1;
        }
        int fd = jw_test_raw_connect(s->port);
        if (fd >= 0) {
            char line[4096];
            int n = jw_test_raw_read_line(fd, line, sizeof line, 2000);
            close(fd);
            if (n > 5 && strncmp(line, "INFO ", 5) == 0)
                return 0;
        }
        jw_test_sleep_ms(10);
    }
    return -1;
}

static int spawn(jw_test_server *s, const char *extra_args)
{
    char port_text[16];
    char *argv[MAX_ARGS];
    int argc = 0;
    char *extra_copy = NULL;
    const char *bin = jw_test_server_binary();

    snprintf(port_text, sizeof port_text, "%d", s->port);
    argv[argc++] = (char *)bin;
    argv[argc++] = "-a";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "-p";
    argv[argc++] = port_text;
    if (!s->no_jetstream) {
        argv[argc++] = "-js";
        argv[argc++] = "-sd";
        argv[argc++] = s->store_dir;
    }
    if (extra_args != NULL) {
        extra_copy = strdup(extra_args);
        if (extra_copy == NULL || split_args(extra_copy, argv, &argc) != 0) {
            free(extra_copy);
            return -1;
        }
    }
    argv[argc] = NULL;

    int log_fd =
        open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        free(extra_copy);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0)
            dup2(null_fd, 0);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(log_fd);
    free(extra_copy);
    if (pid < 0)
        return -1;
    s->pid = pid;
    return 0;
}

/* A server record with its temporary directory and a free port. */
static jw_test_server *server_new(void)
{
    jw_test_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->pid = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/jw-it-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        fprintf(stderr, "server: mkdtemp %s: %s\n", s->dir, strerror(errno));
        free(s);
        return NULL;
    }
    snprintf(s->store_dir, sizeof s->store_dir, "%s/store", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/server.log", s->dir);
    s->port = free_port();
    snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
    return s;
}

jw_test_server *jw_test_server_start(const char *extra_args)
{
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        jw_test_server *s = server_new();
        if (s == NULL)
            return NULL;
        snprintf(s->args, sizeof s->args, "%s",
                 extra_args != NULL ? extra_args : "");
        if (s->port > 0 && spawn(s, extra_args) == 0 && wait_ready(s) == 0) {
            track(s, 1);
            return s;
        }
        /* The port may have been taken meanwhile: report, then retry. */
        fprintf(stderr, "server: start attempt %d on port %d failed\n",
                attempt + 1, s->port);
        jw_test_server_dump_log(s);
        kill_and_reap(s->pid);
        remove_tree(s->dir);
        free(s);
    }
    return NULL;
}

int jw_test_server_restart(jw_test_server *s, const char *extra_args)
{
    if (s == NULL)
        return -1;
    kill_and_reap(s->pid);
    s->pid = -1;
    /* The same port and store: the port was ours a moment ago, but retry a
     * few times while the kernel lets go of it. */
    for (int attempt = 0; attempt < 20; attempt++) {
        if (spawn(s, extra_args) == 0 && wait_ready(s) == 0)
            return 0;
        kill_and_reap(s->pid);
        s->pid = -1;
        jw_test_sleep_ms(100);
    }
    jw_test_server_dump_log(s);
    return -1;
}

void jw_test_server_stop(jw_test_server *s)
{
    if (s == NULL)
        return;
    track(s, 0);
    kill_and_reap(s->pid);
    s->pid = -1;
    if (getenv("JW_KEEP_SERVER_DIR") == NULL)
        remove_tree(s->dir);
    else
        fprintf(stderr, "server: kept %s\n", s->dir);
    free(s);
}

int jw_test_server_kill(jw_test_server *s)
{
    if (s == NULL || s->pid <= 0)
        return -1;
    kill(s->pid, SIGKILL);
    int status;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
    }
    s->pid = -1;
    return 0;
}

int jw_test_server_revive(jw_test_server *s)
{
    if (s == NULL || s->pid > 0)
        return -1;
    /* The port was ours a moment ago; another process taking it in
     * between is possible but rare, so try a few times. */
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        if (spawn(s, s->args[0] ? s->args : NULL) == 0 && wait_ready(s) == 0)
            return 0;
        kill_and_reap(s->pid);
        s->pid = -1;
        jw_test_sleep_ms(100);
    }
    jw_test_server_dump_log(s);
    return -1;
}

/* 1 when node s announces every other node's client port in its INFO. */
static int sees_all(const jw_test_server *s, jw_test_server **all, int n)
{
    int fd = jw_test_raw_connect(s->port);
    if (fd < 0)
        return 0;
    char line[8192];
    int len = jw_test_raw_read_line(fd, line, sizeof line, 2000);
    close(fd);
    if (len <= 0)
        return 0;
    for (int i = 0; i < n; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, ":%d\"", all[i]->port);
        if (all[i] != s && strstr(line, needle) == NULL)
            return 0;
    }
    return 1;
}

/* Write node i's config (routes to every other node of nodes[0..n)) and
 * spawn it. */
static int spawn_node(jw_test_server **nodes, int n, int i)
{
    char conf[2048], path[700];
    int used = snprintf(conf, sizeof conf,
                        "server_name: node%d\n"
                        "cluster {\n  name: jwtest\n"
                        "  listen: 127.0.0.1:%d\n  routes: [\n",
                        i, nodes[i]->route_port);
    for (int j = 0; j < n; j++)
        if (j != i)
            used += snprintf(conf + used, sizeof conf - (size_t)used,
                             "    nats-route://127.0.0.1:%d\n",
                             nodes[j]->route_port);
    snprintf(conf + used, sizeof conf - (size_t)used, "  ]\n}\n");
    snprintf(path, sizeof path, "%s/node.conf", nodes[i]->dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(conf, f);
    fclose(f);
    if (snprintf(nodes[i]->args, sizeof nodes[i]->args, "-c %s", path) >=
        (int)sizeof nodes[i]->args)
        return -1;
    if (spawn(nodes[i], nodes[i]->args) != 0)
        return -1;
    track(nodes[i], 1);
    return 0;
}

static jw_test_server *node_new(void)
{
    jw_test_server *s = server_new();
    if (s == NULL)
        return NULL;
    s->no_jetstream = 1;
    s->route_port = free_port();
    if (s->port <= 0 || s->route_port <= 0) {
        remove_tree(s->dir);
        free(s);
        return NULL;
    }
    return s;
}

/* Wait until nodes[from..n) are ready and every node sees all the others. */
static int wait_cluster(jw_test_server **nodes, int n, int from)
{
    for (int i = from; i < n; i++)
        if (wait_ready(nodes[i]) != 0)
            return -1;
    int64_t deadline = jw_test_now_ms() + 10000;
    for (int i = 0; i < n; i++) {
        while (!sees_all(nodes[i], nodes, n)) {
            if (jw_test_now_ms() > deadline) {
                fprintf(stderr, "cluster: node%d did not see the others\n", i);
                jw_test_server_dump_log(nodes[i]);
                return -1;
            }
            jw_test_sleep_ms(50);
        }
    }
    return 0;
}

static int cluster_start_once(int n, jw_test_server **out)
{
    memset(out, 0, sizeof(*out) * (size_t)n);
    for (int i = 0; i < n; i++)
        if ((out[i] = node_new()) == NULL)
            goto fail;
    for (int i = 0; i < n; i++)
        if (spawn_node(out, n, i) != 0)
            goto fail;
    if (wait_cluster(out, n, 0) == 0)
        return 0;
fail:
    for (int i = 0; i < n; i++) {
        jw_test_server_stop(out[i]);
        out[i] = NULL;
    }
    return -1;
}

int jw_test_cluster_start(int n, jw_test_server **out)
{
    if (n < 1 || n > 5)
        return -1;
    /* A free port can be taken by another test between choosing it and
     * the node binding it (the node then exits at once): start again on
     * fresh ports, up to three times. */
    for (int attempt = 0; attempt < 3; attempt++)
        if (cluster_start_once(n, out) == 0)
            return 0;
    return -1;
}

int jw_test_cluster_grow(jw_test_server **nodes, int n)
{
    if (n < 1 || n > 4 || (nodes[n] = node_new()) == NULL)
        return -1;
    if (spawn_node(nodes, n + 1, n) == 0 && wait_cluster(nodes, n + 1, n) == 0)
        return 0;
    jw_test_server_stop(nodes[n]);
    nodes[n] = NULL;
    return -1;
}

jw_status jw_test_completion(jw_conn *nc, uint64_t want, jw_msg **reply)
{
    struct pollfd pfd = {.fd = jw_conn_fd(nc), .events = POLLIN};
    for (int spins = 0; spins < 500; spins++) {
        uint64_t id = 0;
        jw_status st = JW_OK;
        jw_conn_fd_reset(nc);
        while (jw_conn_request_poll(nc, &id, &st, reply) == 1) {
            if (id == want)
                return st;
            jw_msg_free(*reply);
        }
        poll(&pfd, 1, 10);
    }
    *reply = NULL;
    return JW_ETIMEOUT;
}

jw_call_opts *jw_test_opts_int(const char *call, const char *name,
                               int64_t value)
{
    jw_call_opts *o = NULL;
    if (jw_call_opts_new(call, &o) != JW_OK ||
        jw_call_opts_set_int(o, name, value) != JW_OK) {
        fprintf(stderr, "call options %s.%s: %s\n", call, name,
                jw_last_error());
        jw_call_opts_free(o);
        return NULL;
    }
    return o;
}

jw_call_opts *jw_test_opts_true(const char *call, const char *name)
{
    jw_call_opts *o = NULL;
    if (jw_call_opts_new(call, &o) != JW_OK ||
        jw_call_opts_set_bool(o, name, 1) != JW_OK) {
        fprintf(stderr, "call options %s.%s: %s\n", call, name,
                jw_last_error());
        jw_call_opts_free(o);
        return NULL;
    }
    return o;
}

int jw_test_fetch(jw_consumer *c, jw_msg **msgs, int max, int64_t timeout_ms,
                  int64_t max_bytes, int no_wait)
{
    jw_call_opts *o = NULL;
    int st = jw_call_opts_new("fetch", &o);
    if (st == JW_OK && (timeout_ms || !no_wait))
        st = jw_call_opts_set_int(o, "timeout", timeout_ms);
    if (st == JW_OK && max_bytes)
        st = jw_call_opts_set_int(o, "max_bytes", max_bytes);
    if (st == JW_OK && no_wait)
        st = jw_call_opts_set_bool(o, "no_wait", 1);
    if (st == JW_OK)
        st = jw_consumer_fetch(c, msgs, max, o);
    jw_call_opts_free(o);
    return st;
}

jw_status jw_test_consume(jw_consumer *c, int batch, int64_t max_bytes,
                          int64_t expires_ms, jw_consume **out)
{
    jw_call_opts *o = NULL;
    jw_status st = jw_call_opts_new("consume", &o);
    if (st == JW_OK)
        st = jw_call_opts_set_int(o, "batch", batch);
    if (st == JW_OK && max_bytes)
        st = jw_call_opts_set_int(o, "max_bytes", max_bytes);
    if (st == JW_OK && expires_ms)
        st = jw_call_opts_set_int(o, "expires", expires_ms);
    if (st == JW_OK)
        st = jw_consumer_consume(c, o, out);
    else if (out)
        *out = NULL;
    jw_call_opts_free(o);
    return st;
}

jw_status jw_test_kv_get(jw_kv *kv, const char *key, uint64_t revision,
                         jw_kv_entry **out)
{
    jw_call_opts *o = NULL;
    jw_status st = JW_OK;
    if (revision &&
        ((st = jw_call_opts_new("get", &o)) != JW_OK ||
         (st = jw_call_opts_set_int(o, "revision", (int64_t)revision)) !=
             JW_OK)) {
        jw_call_opts_free(o);
        if (out)
            *out = NULL;
        return st;
    }
    st = jw_kv_get(kv, key, o, out);
    jw_call_opts_free(o);
    return st;
}

int64_t jw_test_proc_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    size_t n = strlen(field);
    int64_t kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kib = strtoll(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

int jw_test_reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}
