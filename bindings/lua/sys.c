/*
 * Waiting and signals: the wait every blocking call of the module goes
 * through (so that Ctrl-C and the signals a script catches end it within
 * a slice), jetwire.signals and jetwire.sleep.
 *
 * Why slices: the engine waits on condition variables (or runs a driven
 * loop) and no signal can break those waits; its public API has no
 * interrupt. So the module never hands the engine a long wait: it waits in
 * slices of LJW_SLICE_MS and looks between two slices whether
 *  - the interpreter's SIGINT handler ran: lua.c's handler sets a hook on
 *    the main thread (lua_sethook, which it may call from a signal
 *    handler); a hook that changed during the wait can only be that, as no
 *    Lua code runs inside it. Nothing of SIGINT's handling is replaced:
 *    once the wait returned INTERRUPTED, the hook raises "interrupted!" as
 *    it always does, and a second Ctrl-C kills as lua.c arranged;
 *  - a signal caught by jetwire.signals arrived: its handler (only atomics
 *    and a write to a pipe: async-signal-safe) counts it.
 * The first slice costs no system call and no clock read when the engine
 * has something at once (a queued message), so the fast path is unchanged;
 * an idle wait wakes every LJW_SLICE_MS to look.
 */
#include "ljw.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LJW_SIGNALS "jetwire.Signals"
#define MAX_SIGNO   65
#define SET_MAX     16

/* ------------------------------------------------------------------------
 * Process-wide signal state. Signals belong to the process, not to a Lua
 * state: these are shared by every state that loaded the module.
 */

/* Caught signals, in all; the count the last interrupted wait (or a
 * signal taken by sig:wait) accounted for. A wait is interrupted while
 * they differ, so a signal that came while Lua code ran interrupts the
 * next wait, and each signal interrupts one wait only. */
static atomic_uint caught_total;
static atomic_uint caught_seen;
/* Per signal: caught and not yet taken by sig:wait (0 or 1). */
static atomic_uint pending[MAX_SIGNO];
/* The disposition before the first set caught it, and how many open sets
 * catch it (both under set_lock). */
static struct sigaction previous[MAX_SIGNO];
static int catchers[MAX_SIGNO];
static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
/* The self-pipe: its read end becomes readable when a signal is caught
 * (waits on file descriptors wake at once). Made with the first set,
 * never closed. */
static int wake_pipe[2] = {-1, -1};

static const struct {
    const char *name;
    int signo;
} signal_names[] = {
    {"INT", SIGINT},   {"TERM", SIGTERM},   {"HUP", SIGHUP},
    {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},   {"USR2", SIGUSR2},
    {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}, {"PIPE", SIGPIPE},
    {"CHLD", SIGCHLD},
};
#define SIGNAL_NAME_COUNT \
    (int)(sizeof(signal_names) / sizeof(signal_names[0]))

static const char *signal_name(int signo)
{
    for (int i = 0; i < SIGNAL_NAME_COUNT; i++)
        if (signal_names[i].signo == signo)
            return signal_names[i].name;
    return "?";
}

/* A repeat within this of the first untaken one is the same event sent
 * twice, not a second request: timeout(1), and process managers, signal
 * both the process and its process group. */
#define REPEAT_GRACE_NS 100000000LL
/* Per signal: when the untaken one came (CLOCK_MONOTONIC, ns). */
static atomic_llong first_at[MAX_SIGNO];

static void on_signal(int signo)
{
    int saved_errno = errno;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
    long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (atomic_load(&pending[signo]) > 0) {
        /* The previous one was never taken: the script is not listening
         * (stuck in Lua code, or already stopping). A later one does what
         * it did before the script caught it: for SIGINT under lua5.4,
         * the "interrupted!" error; for SIGTERM, the end of the process. */
        if (now - atomic_load(&first_at[signo]) >= REPEAT_GRACE_NS) {
            sigaction(signo, &previous[signo], NULL);
            raise(signo); /* delivered once this handler returns */
        }
        errno = saved_errno;
        return;
    }
    atomic_store(&first_at[signo], now);
    atomic_store(&pending[signo], 1);
    atomic_fetch_add(&caught_total, 1);
    if (wake_pipe[1] >= 0) {
        char byte = (char)signo;
        ssize_t rc = write(wake_pipe[1], &byte, 1);
        (void)rc; /* a full pipe is readable already */
    }
    errno = saved_errno;
}

static void drain_wake_pipe(void)
{
    char buf[64];
    while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof buf) > 0)
        ;
}

/* ------------------------------------------------------------------------
 * The wait
 */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ljw_wait_begin(lua_State *L, ljw_wait *w, int64_t timeout_ms)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    w->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    w->hook = w->main ? lua_gethook(w->main) : NULL;
    w->timeout_ms = timeout_ms;
    w->steps = 0;
    /* The clock is read only when the first slice cannot cover it all. */
    w->deadline_us =
        timeout_ms > LJW_SLICE_MS ? now_us() + timeout_ms * 1000 : 0;
}

int ljw_wait_interrupted(ljw_wait *w)
{
    if (w->main && lua_gethook(w->main) != w->hook)
        return 1; /* lua.c's SIGINT handler set its hook */
    unsigned total = atomic_load(&caught_total);
    if (total != atomic_load(&caught_seen)) {
        atomic_store(&caught_seen, total);
        return 1;
    }
    return 0;
}

int64_t ljw_wait_step(ljw_wait *w)
{
    if (ljw_wait_interrupted(w))
        return LJW_WAIT_INTERRUPTED;
    int first = w->steps++ == 0;
    if (w->timeout_ms < 0)
        return LJW_SLICE_MS;
    if (w->timeout_ms <= LJW_SLICE_MS)
        return first ? w->timeout_ms : LJW_WAIT_EXPIRED;
    int64_t left = (w->deadline_us - now_us() + 999) / 1000;
    if (left <= 0)
        return first ? 0 : LJW_WAIT_EXPIRED;
    return left < LJW_SLICE_MS ? left : LJW_SLICE_MS;
}

jw_status ljw_wait_sliced(lua_State *L, int64_t timeout_ms,
                          ljw_slice_fn fn, void *ctx)
{
    ljw_wait w;
    ljw_wait_begin(L, &w, timeout_ms);
    jw_status st = JW_ETIMEOUT;
    while (st == JW_ETIMEOUT) {
        int64_t slice = ljw_wait_step(&w);
        if (slice == LJW_WAIT_INTERRUPTED)
            return LJW_INTERRUPTED;
        if (slice == LJW_WAIT_EXPIRED)
            break;
        st = fn(ctx, slice);
    }
    return st;
}

int64_t ljw_wait_left_ms(ljw_wait *w)
{
    if (w->timeout_ms < 0)
        return -1;
    if (w->timeout_ms <= LJW_SLICE_MS)
        return 0;
    int64_t left = (w->deadline_us - now_us()) / 1000;
    return left > 0 ? left : 0;
}

int ljw_fail_interrupted(lua_State *L)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, jw_status_name(JW_EINTERRUPTED));
    lua_setfield(L, -2, "code");
    lua_pushliteral(L, "interrupted by a signal");
    lua_setfield(L, -2, "message");
    luaL_setmetatable(L, LJW_ERROR);
    return 2;
}

int ljw_poll_slices(lua_State *L, struct pollfd *fds, int nfds,
                    int64_t timeout_ms)
{
    ljw_wait w;
    ljw_wait_begin(L, &w, timeout_ms);
    /* The wake pipe rides along in the last slot (the caller made room). */
    fds[nfds].fd = wake_pipe[0];
    fds[nfds].events = POLLIN;
    for (;;) {
        int64_t slice = ljw_wait_step(&w);
        if (slice == LJW_WAIT_INTERRUPTED)
            return LJW_WAIT_INTERRUPTED;
        if (slice == LJW_WAIT_EXPIRED)
            return 0;
        fds[nfds].revents = 0;
        int rc = poll(fds, (nfds_t)nfds + 1, (int)slice);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0 && fds[nfds].revents) {
            drain_wake_pipe();
            rc--;
        }
        if (rc > 0)
            return rc;
    }
}

/* ------------------------------------------------------------------------
 * jetwire.sleep
 */

/* jetwire.sleep(seconds) -> true | nil, err (INTERRUPTED) */
static int l_sleep(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        luaL_typeerror(L, 1, "number of seconds");
    int64_t ms = ljw_timeout_ms(L, 1, 0);
    struct pollfd fds[1];
    if (ljw_poll_slices(L, fds, 0, ms) == LJW_WAIT_INTERRUPTED)
        return ljw_fail_interrupted(L);
    lua_pushboolean(L, 1);
    return 1;
}

/* ------------------------------------------------------------------------
 * jetwire.signals
 */

typedef struct ljw_signals {
    int count; /* 0 once closed */
    int signos[SET_MAX];
} ljw_signals;

static int make_wake_pipe(void)
{
    if (wake_pipe[0] >= 0)
        return 0;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    wake_pipe[0] = fds[0];
    wake_pipe[1] = fds[1]; /* the handler reads it: set last */
    return 0;
}

static int catch_signal(int signo)
{
    int rc = 0;
    pthread_mutex_lock(&set_lock);
    if (catchers[signo] == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        /* Restart what can be restarted: the engine's threads and the
         * program's own calls should not see EINTR because of us. */
        sa.sa_flags = SA_RESTART;
        atomic_store(&pending[signo], 0);
        rc = make_wake_pipe();
        if (rc == 0)
            rc = sigaction(signo, &sa, &previous[signo]);
    }
    if (rc == 0)
        catchers[signo]++;
    pthread_mutex_unlock(&set_lock);
    return rc;
}

static void release_signal(int signo)
{
    pthread_mutex_lock(&set_lock);
    if (catchers[signo] > 0 && --catchers[signo] == 0) {
        sigaction(signo, &previous[signo], NULL);
        atomic_store(&pending[signo], 0);
    }
    pthread_mutex_unlock(&set_lock);
}

static void close_set(ljw_signals *s)
{
    for (int i = 0; i < s->count; i++)
        release_signal(s->signos[i]);
    s->count = 0;
}

static int check_signo(lua_State *L, int idx)
{
    const char *name = lua_tostring(L, idx);
    if (strncmp(name, "SIG", 3) == 0)
        name += 3;
    for (int i = 0; i < SIGNAL_NAME_COUNT; i++)
        if (strcmp(name, signal_names[i].name) == 0)
            return signal_names[i].signo;
    luaL_argerror(L, 1,
                  lua_pushfstring(L,
                                  "unknown signal '%s' (INT, TERM, HUP, "
                                  "QUIT, USR1, USR2, ALRM, WINCH, PIPE, "
                                  "CHLD)",
                                  lua_tostring(L, idx)));
    return 0;
}

/* jetwire.signals{"INT", "TERM", ...} -> a set catching those signals
 * until it is closed (or collected); sig:wait takes them. */
static int l_signals(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    luaL_argcheck(L, n >= 1 && n <= SET_MAX, 1,
                  "a list of 1 to 16 signal names");
    int signos[SET_MAX];
    int count = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TSTRING)
            luaL_argerror(L, 1, "signal names must be strings");
        int signo = check_signo(L, -1);
        lua_pop(L, 1);
        int dup = 0;
        for (int k = 0; k < count; k++)
            dup |= signos[k] == signo;
        if (!dup)
            signos[count++] = signo;
    }
    ljw_signals *s = lua_newuserdatauv(L, sizeof(*s), 0);
    s->count = 0;
    luaL_setmetatable(L, LJW_SIGNALS);
    for (int i = 0; i < count; i++) {
        if (catch_signal(signos[i]) != 0) {
            int err = errno;
            close_set(s);
            return ljw_fail_msg(L, JW_EIO, strerror(err));
        }
        s->signos[s->count++] = signos[i];
    }
    return 1;
}

static ljw_signals *check_set(lua_State *L)
{
    return luaL_checkudata(L, 1, LJW_SIGNALS);
}

/* A signal of the set that came and was not taken: take it. */
static int take_pending(ljw_signals *s)
{
    for (int i = 0; i < s->count; i++) {
        if (atomic_exchange(&pending[s->signos[i]], 0) > 0) {
            /* It interrupted (or was about to interrupt) a wait: the
             * script has it now, so no later wait is interrupted by it. */
            atomic_store(&caught_seen, atomic_load(&caught_total));
            return s->signos[i];
        }
    }
    return 0;
}

/* sig:wait([timeout = math.huge]) -> the name of a signal of the set
 * ("INT", "TERM", ...) | nil, err (TIMEOUT; INTERRUPTED: SIGINT outside
 * the set under lua5.4, or a signal of another set). */
static int l_set_wait(lua_State *L)
{
    ljw_signals *s = check_set(L);
    int64_t ms = ljw_timeout_ms(L, 2, -1);
    if (!s->count)
        return ljw_fail_msg(L, JW_EINVAL, "signal set was closed");
    ljw_wait w;
    ljw_wait_begin(L, &w, ms);
    for (;;) {
        int signo = take_pending(s);
        if (signo) {
            lua_pushstring(L, signal_name(signo));
            return 1;
        }
        int64_t slice = ljw_wait_step(&w);
        if (slice == LJW_WAIT_INTERRUPTED)
            return ljw_fail_interrupted(L);
        if (slice == LJW_WAIT_EXPIRED)
            return ljw_fail_timeout(L, "no signal", ms);
        struct pollfd fd = {wake_pipe[0], POLLIN, 0};
        if (poll(&fd, 1, (int)slice) > 0)
            drain_wake_pipe();
    }
}

/* sig:fd() -> a file descriptor that becomes readable when a caught
 * signal arrives (for jetwire.poll and event loops; sig:wait(0) then). */
static int l_set_fd(lua_State *L)
{
    check_set(L);
    lua_pushinteger(L, wake_pipe[0]);
    return 1;
}

/* sig:close(): the signals do what they did before; twice is harmless. */
static int l_set_close(lua_State *L)
{
    close_set(check_set(L));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_set_gc(lua_State *L)
{
    close_set(check_set(L));
    return 0;
}

static int l_set_tostring(lua_State *L)
{
    ljw_signals *s = check_set(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "jetwire.Signals (");
    for (int i = 0; i < s->count; i++) {
        if (i)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, signal_name(s->signos[i]));
    }
    luaL_addstring(&b, s->count ? ")" : "closed)");
    luaL_pushresult(&b);
    return 1;
}

static const luaL_Reg set_methods[] = {
    {"wait", l_set_wait},
    {"fd", l_set_fd},
    {"close", l_set_close},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------
 * The engine's wait check
 *
 * The calls that wait in one engine call (a request and what is made of
 * one: JetStream and Key-Value calls, fetch, ack_sync) are interrupted by
 * the engine itself: jw_wait_check_set, for the thread that loaded the
 * module, calls engine_check every LJW_SLICE_MS of a wait. It looks for
 *  - a signal caught by jetwire.signals, as ljw_wait_interrupted does;
 *  - lua.c's SIGINT: its handler puts SIGINT back to the default and
 *    sets a hook on the main thread, which the hook clears when it raises
 *    "interrupted!". Both at once mean it came and is not raised yet.
 *    Only when SIGINT had a handler (lua.c's) as the module was loaded:
 *    elsewhere SIGINT is the default all along.
 */

static int sigint_handled_at_open;

static int engine_check(void *arg)
{
    lua_State *main = arg;
    unsigned total = atomic_load(&caught_total);
    if (total != atomic_load(&caught_seen)) {
        atomic_store(&caught_seen, total);
        return 1;
    }
    struct sigaction now;
    return sigint_handled_at_open && lua_gethook(main) != NULL &&
           sigaction(SIGINT, NULL, &now) == 0 && now.sa_handler == SIG_DFL;
}

/* The registry's sentinel: when the state closes, its check goes too (if
 * it is still this thread's). */
static int check_gc(lua_State *L)
{
    (void)L;
    jw_wait_check_set(NULL, NULL, 0);
    return 0;
}

static void install_check(lua_State *L)
{
    struct sigaction now;
    if (sigaction(SIGINT, NULL, &now) == 0 && now.sa_handler != SIG_DFL &&
        now.sa_handler != SIG_IGN && now.sa_handler != on_signal)
        sigint_handled_at_open = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State *main = lua_tothread(L, -1);
    lua_pop(L, 1);
    jw_wait_check_set(engine_check, main, LJW_SLICE_MS);
    lua_newuserdatauv(L, 0, 0);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, check_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "jetwire.wait_check");
}

void ljw_sys_register(lua_State *L)
{
    ljw_register_type(L, LJW_SIGNALS, set_methods, l_set_gc, l_set_tostring);
    install_check(L);
}

/* Add signals and sleep to the module table on the top of the stack. */
void ljw_sys_functions(lua_State *L)
{
    lua_pushcfunction(L, l_signals);
    lua_setfield(L, -2, "signals");
    lua_pushcfunction(L, l_sleep);
    lua_setfield(L, -2, "sleep");
}
