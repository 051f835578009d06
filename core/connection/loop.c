/*
 * The libevent binding: loops that own a thread, loops a host drives, and
 * loops on a host's event_base; plus the one wait primitive every blocking
 * call uses, so that blocking calls work in all three modes.
 */
#include "engine.h"

#include <errno.h>
#include <event2/thread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_ok;

static void init_threads(void)
{
    /* Other threads wake the loop with event_active(), which needs a
     * thread-aware base. */
    threads_ok = evthread_use_pthreads() == 0;
}

static _Thread_local jw_loop *current_loop;
static _Thread_local int callback_depth;

void jw__loop_enter(jw_loop *loop)
{
    current_loop = loop;
    callback_depth++;
}

void jw__loop_leave(void)
{
    if (--callback_depth == 0)
        current_loop = NULL;
}

int jw__loop_in_callback(void)
{
    return callback_depth > 0;
}

void jw__cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

int64_t jw__deadline(int64_t timeout_ms)
{
    if (timeout_ms < 0)
        return -1;
    return jw__now_us() + timeout_ms * 1000;
}

static jw_status loop_alloc(enum jw__loop_mode mode, jw_loop **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    pthread_once(&threads_once, init_threads);
    if (!threads_ok)
        return jw__fail(JW_ENO_MEMORY, "libevent thread support failed");
    jw_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    atomic_init(&loop->refs, 1);
    loop->mode = mode;
    loop->host_fd = loop->kick_fd = -1;
    loop->next_timer_us = -1;
    *out = loop;
    return JW_OK;
}

static void *loop_thread(void *arg)
{
    jw_loop *loop = arg;
    /* Everything on this thread is a callback of the loop. */
    jw__loop_enter(loop);
    event_base_loop(loop->base, EVLOOP_NO_EXIT_ON_EMPTY);
    jw__loop_leave();
    if (atomic_load(&loop->detached)) {
        /* Nobody will join this thread: it cleans up after itself. */
        event_base_free(loop->base);
        free(loop);
    }
    return NULL;
}

jw_status jw_loop_new(jw_loop **out)
{
    jw_status st = loop_alloc(JW__LOOP_OWN_THREAD, out);
    if (st)
        return st;
    jw_loop *loop = *out;
    loop->base = event_base_new();
    loop->owns_base = 1;
    if (!loop->base || pthread_create(&loop->thread, NULL, loop_thread, loop)) {
        if (loop->base)
            event_base_free(loop->base);
        free(loop);
        *out = NULL;
        return jw__fail(JW_ENO_MEMORY, "could not start the loop thread");
    }
    loop->has_thread = 1;
    return JW_OK;
}

jw_status jw__loop_private(jw_loop **out)
{
    return jw_loop_new(out);
}

jw_status jw_loop_new_driven(jw_loop **out)
{
    jw_status st = loop_alloc(JW__LOOP_DRIVEN, out);
    if (st)
        return st;
    (*out)->base = event_base_new();
    (*out)->owns_base = 1;
    if (!(*out)->base) {
        free(*out);
        *out = NULL;
        return jw__fail(JW_ENO_MEMORY, "event_base_new failed");
    }
    return JW_OK;
}

jw_status jw_loop_new_from_base(struct event_base *base, jw_loop **out)
{
    if (!base)
        return jw__fail(JW_EINVAL, "base is NULL");
    jw_status st = loop_alloc(JW__LOOP_EXTERNAL, out);
    if (st)
        return st;
    (*out)->base = base;
    return JW_OK;
}

static void run_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    JW_UNUSED(fd);
    JW_UNUSED(what);
    JW_UNUSED(arg);
}

static void host_sync(jw_loop *loop);

/* Run a driven loop once: handle what is ready, or wait for the first
 * event up to timeout_ms. */
static void run_once(jw_loop *loop, int64_t timeout_ms)
{
    if (loop->host_polled) {
        /* Taken before running, so a wake-up during the run is seen by
         * the next poll. Most runs follow a socket, not a kick, so the
         * eventfd is read only while a kick's write is owed: every kick
         * taken writes 1 once, a read returns how many came, and a
         * kicker caught between its flag and its write is read at a
         * later run (were it never read, the fd would stay readable and
         * the host would poll without end). */
        if (atomic_exchange(&loop->kicked, 0))
            loop->kick_owed++;
        if (loop->kick_owed > 0) {
            uint64_t n;
            if (read(loop->kick_fd, &n, sizeof n) == (ssize_t)sizeof n)
                loop->kick_owed -= (int64_t)n;
        }
    }
    struct event *timer = NULL;
    int flags = EVLOOP_ONCE;
    if (timeout_ms == 0) {
        /* With ONCE, libevent returns once it has run what was ready
         * instead of asking the kernel a second time: anything left is
         * still ready at the host's next poll. */
        flags = EVLOOP_NONBLOCK | EVLOOP_ONCE;
    } else if (timeout_ms > 0) {
        struct timeval tv = {(time_t)(timeout_ms / 1000),
                             (suseconds_t)(timeout_ms % 1000) * 1000};
        timer = evtimer_new(loop->base, run_timeout_cb, NULL);
        if (timer)
            evtimer_add(timer, &tv);
    }
    jw__loop_enter(loop);
    event_base_loop(loop->base, flags);
    jw__loop_leave();
    if (timer)
        event_free(timer);
    if (loop->host_polled)
        host_sync(loop);
}

jw_status jw_loop_run(jw_loop *loop, int64_t timeout_ms)
{
    if (!loop)
        return jw__fail(JW_EINVAL, "loop is NULL");
    if (loop->mode != JW__LOOP_DRIVEN)
        return jw__fail(JW_EINVAL, "only a driven loop is run by the host");
    if (jw__loop_in_callback())
        return jw__fail(JW_EINVAL, "jw_loop_run called from a callback");
    if (loop->host_polled && !pthread_equal(pthread_self(), loop->host_thread))
        return jw__fail(JW_EINVAL, "a polled loop is run by the thread that "
                                   "polls it (jw_loop_fd)");
    run_once(loop, timeout_ms);
    return JW_OK;
}

/* ---- host polling ---- */

typedef struct host_want {
    int n;
    int full;
    struct {
        int fd;
        short what;
    } fds[JW__HOST_FDS];
    int has_timer;
    struct timeval first;
} host_want;

/* The loop's events, gathered by event_base_foreach_event, which holds
 * the base's lock: what they wait for is asked after (event_pending takes
 * that lock too). Nothing frees them meanwhile: this thread runs the
 * loop, and other threads only wake it. */
#define HOST_EVENTS 64
typedef struct host_events {
    int n;
    const struct event *ev[HOST_EVENTS];
} host_events;

static int gather_event(const struct event_base *base,
                        const struct event *ev, void *arg)
{
    JW_UNUSED(base);
    host_events *all = arg;
    if (all->n == HOST_EVENTS)
        return 1; /* stops the walk; host_sync polls again soon */
    all->ev[all->n++] = ev;
    return 0;
}

static void want_event(host_want *w, const struct event *ev)
{
    struct timeval tv;
    int pending = event_pending(ev, EV_READ | EV_WRITE | EV_TIMEOUT, &tv);
    evutil_socket_t fd = event_get_fd(ev);
    short what = (short)(pending & (EV_READ | EV_WRITE));
    if (fd >= 0 && what) {
        int i = 0;
        while (i < w->n && w->fds[i].fd != fd)
            i++;
        if (i == w->n) {
            if (w->n == JW__HOST_FDS) {
                w->full = 1;
                return;
            }
            w->fds[w->n].fd = fd;
            w->fds[w->n++].what = 0;
        }
        w->fds[i].what |= what;
    }
    if ((pending & EV_TIMEOUT) &&
        (!w->has_timer || evutil_timercmp(&tv, &w->first, <))) {
        w->first = tv;
        w->has_timer = 1;
    }
}

static uint32_t epoll_events(short what)
{
    return (what & EV_READ ? EPOLLIN : 0u) | (what & EV_WRITE ? EPOLLOUT : 0u);
}

/* Bring the epoll set in line with the sockets the loop's events want now,
 * and note when its first timer is due. */
static void host_sync(jw_loop *loop)
{
    host_want w = {0};
    host_events all = {0};
    if (event_base_foreach_event(loop->base, gather_event, &all))
        w.full = 1;
    for (int i = 0; i < all.n; i++)
        want_event(&w, all.ev[i]);
    for (int i = 0; i < loop->n_polled; i++) {
        int fd = loop->polled[i].fd, kept = 0;
        for (int j = 0; j < w.n && !kept; j++)
            kept = w.fds[j].fd == fd;
        if (!kept) /* a closed socket has left the set by itself */
            epoll_ctl(loop->host_fd, EPOLL_CTL_DEL, fd, NULL);
    }
    for (int j = 0; j < w.n; j++) {
        struct epoll_event ev = {.events = epoll_events(w.fds[j].what),
                                 .data.fd = w.fds[j].fd};
        int i = 0;
        while (i < loop->n_polled && loop->polled[i].fd != w.fds[j].fd)
            i++;
        if (i < loop->n_polled && loop->polled[i].what == w.fds[j].what)
            continue;
        /* A socket number may come back for a new socket, which the set
         * has not seen: MOD fails then, and ADD is right. */
        if (i == loop->n_polled ||
            epoll_ctl(loop->host_fd, EPOLL_CTL_MOD, w.fds[j].fd, &ev))
            if (epoll_ctl(loop->host_fd, EPOLL_CTL_ADD, w.fds[j].fd, &ev) &&
                errno == EEXIST)
                epoll_ctl(loop->host_fd, EPOLL_CTL_MOD, w.fds[j].fd, &ev);
    }
    loop->n_polled = w.n;
    for (int j = 0; j < w.n; j++) {
        loop->polled[j].fd = w.fds[j].fd;
        loop->polled[j].what = w.fds[j].what;
    }
    loop->next_timer_us = -1;
    if (w.has_timer) {
        /* libevent gives the expiry in wall-clock time. */
        struct timeval now;
        evutil_gettimeofday(&now, NULL);
        int64_t left = (int64_t)(w.first.tv_sec - now.tv_sec) * 1000000 +
                       (w.first.tv_usec - now.tv_usec);
        loop->next_timer_us = jw__now_us() + (left > 0 ? left : 0);
    }
    if (w.full) /* more sockets than the set follows: poll again soon */
        loop->next_timer_us = jw__now_us() + 1000;
}

int jw_loop_fd(jw_loop *loop)
{
    if (!loop)
        return jw__fail(JW_EINVAL, "loop is NULL");
    if (loop->mode != JW__LOOP_DRIVEN)
        return jw__fail(JW_EINVAL, "only a driven loop is polled by a host");
    if (loop->host_polled) {
        if (!pthread_equal(pthread_self(), loop->host_thread))
            return jw__fail(JW_EINVAL, "the loop is polled by another "
                                       "thread");
        return loop->host_fd;
    }
    if (jw__loop_in_callback())
        return jw__fail(JW_EINVAL, "jw_loop_fd called from a callback");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = kick};
    if (ep < 0 || kick < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, kick, &ev)) {
        if (ep >= 0)
            close(ep);
        if (kick >= 0)
            close(kick);
        return jw__fail(JW_EIO, "cannot make the loop's poll set: %s",
                        strerror(errno));
    }
    loop->host_fd = ep;
    loop->kick_fd = kick;
    loop->host_thread = pthread_self();
    loop->host_polled = 1;
    host_sync(loop);
    /* Whatever was made ready before (a wake-up) is run at the first
     * poll. */
    jw__loop_kick(loop);
    return ep;
}

int64_t jw_loop_timeout_ms(const jw_loop *loop)
{
    if (!loop || loop->mode != JW__LOOP_DRIVEN || loop->next_timer_us < 0)
        return -1;
    int64_t left = loop->next_timer_us - jw__now_us();
    return left > 0 ? (left + 999) / 1000 : 0;
}

void jw__loop_kick(jw_loop *loop)
{
    if (loop->host_polled && !atomic_exchange(&loop->kicked, 1)) {
        uint64_t one = 1;
        ssize_t rc = write(loop->kick_fd, &one, sizeof one);
        JW_UNUSED(rc); /* a full counter is readable already */
    }
}

jw_status jw__loop_wait(jw_loop *loop, pthread_cond_t *cond,
                        pthread_mutex_t *mu, int64_t deadline_us)
{
    int64_t now = jw__now_us();
    if (deadline_us >= 0 && now >= deadline_us)
        return JW_ETIMEOUT;
    if (loop->mode == JW__LOOP_DRIVEN && loop->host_polled &&
        !pthread_equal(pthread_self(), loop->host_thread)) {
        /* The host's thread runs this loop: wait to be signalled, as with
         * a loop of its own thread (below). */
    } else if (loop->mode == JW__LOOP_DRIVEN) {
        /* Nobody else runs this loop: run it here until something happens.
         * Bounded steps keep a missed wake-up from costing more than a
         * few milliseconds. */
        int64_t step = deadline_us < 0 ? 50 : (deadline_us - now) / 1000 + 1;
        if (step > 50)
            step = 50;
        pthread_mutex_unlock(mu);
        run_once(loop, step);
        pthread_mutex_lock(mu);
        return JW_OK;
    }
    if (deadline_us < 0) {
        pthread_cond_wait(cond, mu);
        return JW_OK;
    }
    struct timespec ts = {(time_t)(deadline_us / 1000000),
                          (long)(deadline_us % 1000000) * 1000};
    int rc = pthread_cond_timedwait(cond, mu, &ts);
    return rc == ETIMEDOUT ? JW_ETIMEOUT : JW_OK;
}

/* The calling thread's wait check (jw_wait_check_set): when the next call
 * is due, and whether one is running (its own waits do not check). */
typedef struct wait_check {
    jw_wait_check_cb fn;
    void *arg;
    int64_t interval_us;
    int64_t due_us;
    int running;
} wait_check;

static _Thread_local wait_check thread_check;

jw_status jw_wait_check_set(jw_wait_check_cb check, void *arg,
                            int64_t interval_ms)
{
    if (check && (interval_ms < 1 || interval_ms > INT64_MAX / 1000))
        return jw__fail(JW_EINVAL, "wait check interval must be >= 1 ms");
    thread_check.fn = check;
    thread_check.arg = check ? arg : NULL;
    thread_check.interval_us = check ? interval_ms * 1000 : 0;
    thread_check.due_us = 0;
    return JW_OK;
}

jw_status jw__loop_wait_user(jw_loop *loop, pthread_cond_t *cond,
                             pthread_mutex_t *mu, int64_t deadline_us)
{
    wait_check *wc = &thread_check;
    if (!wc->fn || wc->running)
        return jw__loop_wait(loop, cond, mu, deadline_us);
    /* The schedule runs across the wake-ups of one wait: a due time in the
     * past belongs to an earlier wait. */
    int64_t now = jw__now_us();
    if (wc->due_us < now)
        wc->due_us = now + wc->interval_us;
    int64_t until = deadline_us >= 0 && deadline_us < wc->due_us
                        ? deadline_us
                        : wc->due_us;
    jw_status st = jw__loop_wait(loop, cond, mu, until);
    if (st == JW_ETIMEOUT && until != wc->due_us)
        return st; /* the caller's deadline */
    now = jw__now_us();
    if (now < wc->due_us)
        return JW_OK; /* woken: the caller looks at its condition */
    wc->due_us = now + wc->interval_us;
    jw_wait_check_cb fn = wc->fn;
    void *arg = wc->arg;
    wc->running = 1;
    pthread_mutex_unlock(mu);
    int stop = fn(arg);
    pthread_mutex_lock(mu);
    wc->running = 0;
    return stop ? JW_EINTERRUPTED : JW_OK;
}

void jw__loop_ref(jw_loop *loop)
{
    atomic_fetch_add_explicit(&loop->refs, 1, memory_order_relaxed);
}

static void break_cb(evutil_socket_t fd, short what, void *arg)
{
    JW_UNUSED(fd);
    JW_UNUSED(what);
    event_base_loopbreak(arg);
}

void jw__loop_release(jw_loop *loop)
{
    if (!loop ||
        atomic_fetch_sub_explicit(&loop->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (loop->has_thread) {
        if (current_loop == loop && callback_depth > 0) {
            /* The last reference went away on the loop's own thread: it
             * cannot join itself, so it stops and frees the loop when its
             * loop returns. */
            atomic_store(&loop->detached, 1);
            pthread_detach(loop->thread);
            event_base_loopbreak(loop->base);
            return;
        }
        event_base_once(loop->base, -1, EV_TIMEOUT, break_cb, loop->base,
                        NULL);
        event_base_loopbreak(loop->base);
        pthread_join(loop->thread, NULL);
    }
    if (loop->owns_base)
        event_base_free(loop->base);
    if (loop->host_fd >= 0)
        close(loop->host_fd);
    if (loop->kick_fd >= 0)
        close(loop->kick_fd);
    free(loop);
}

void jw_loop_free(jw_loop *loop)
{
    jw__loop_release(loop);
}
