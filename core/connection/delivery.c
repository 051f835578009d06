/*
 * Delivery threads of handler subscriptions.
 *
 * On a loop jetwire runs on its own thread, a handler subscription's
 * messages are queued as a pulled subscription's are (under the same
 * pending limits), and a delivery thread hands them to the handler in
 * order. A slow handler then costs drops that are counted and reported as
 * a slow consumer, not a stalled socket that holds back every other
 * subscription and that the server ends up cutting off; and a handler may
 * wait (a request, a flush). On a host's loop (driven or an external base)
 * handlers run on that loop, where the host wants all of its work.
 *
 * By default each subscription has a thread of its own, as in nats.c.
 * With the connection's delivery_threads option they share a pool of that
 * many: a subscription with messages goes on the pool's ready list once,
 * one thread at a time takes it, hands out a batch, and puts it back at
 * the end of the list if more came, so that ten thousand subscriptions
 * cost ten thousand list entries, not threads, and a busy one cannot
 * starve the others.
 */
#include "engine.h"

#include <stdlib.h>

#define DELIVERY_BATCH 64
/* What a batch taken for the handler may count: popped, it is no longer
 * pending, and big messages would otherwise let 64 of them wait here
 * beside a full queue. */
#define DELIVERY_BATCH_BYTES (256 * 1024)
/* A bound on delivery_threads, far above any use. */
#define POOL_MAX_THREADS 256

struct jw__delivery_pool {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    jw_sub *head, *tail; /* the ready list, each holding a reference */
    int idle;            /* threads waiting for the list */
    int stop;
    int count;
    pthread_t threads[POOL_MAX_THREADS];
    atomic_int refs; /* the connection's and each running thread's */
};

/* Hand one batch of sub's queue to its handler (sub mu held, released
 * during the handler). Returns 0 once the queue was empty. */
static int deliver_batch(jw_sub *sub)
{
    jw_msg *batch[DELIVERY_BATCH];
    if (!sub->head)
        return 0;
    /* A few at a time, so the pending limits still bound what waits
     * behind a slow handler. */
    int n = jw__sub_pop(sub, batch, DELIVERY_BATCH, DELIVERY_BATCH_BYTES);
    sub->in_handler = 1;
    pthread_mutex_unlock(&sub->mu);
    for (int i = 0; i < n; i++) {
        if (atomic_load(&sub->discard)) {
            jw_msg_free(batch[i]); /* unsubscribed or freed meanwhile */
            atomic_fetch_add(&sub->discarded, 1);
        } else
            sub->cb(sub, batch[i], sub->cb_arg);
    }
    pthread_mutex_lock(&sub->mu);
    sub->in_handler = 0;
    pthread_cond_broadcast(&sub->cond);
    return 1;
}

/* The subscription is closed and what it kept is delivered: the last one
 * of a drain moves it on to the publishes. */
static void delivery_done(jw_conn *c)
{
    pthread_mutex_lock(&c->mu);
    if (--c->delivering == 0 && c->drain_after_handlers) {
        c->drain_after_handlers = 0;
        jw__conn_drain_pubs(c);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- a thread per subscription ---- */

static void *own_thread_main(void *arg)
{
    jw_sub *sub = arg;
    jw__sub_set_delivering(sub);
    pthread_mutex_lock(&sub->mu);
    for (;;) {
        while (!sub->head && sub->state != JW__SUB_CLOSED) {
            sub->waiters++;
            pthread_cond_wait(&sub->cond, &sub->mu);
            sub->waiters--;
        }
        if (!deliver_batch(sub))
            break; /* closed, and what was kept is delivered */
    }
    pthread_mutex_unlock(&sub->mu);
    delivery_done(sub->conn);
    jw__sub_set_delivering(NULL);
    jw__sub_release(sub);
    return NULL;
}

/* ---- a pool per connection ---- */

static void pool_release(jw__delivery_pool *p)
{
    if (atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}

/* Put sub at the end of the ready list (pool mu held); the list takes
 * over the caller's reference. No thread is woken here: see
 * jw__delivery_kick. */
static void pool_push(jw__delivery_pool *p, jw_sub *sub)
{
    sub->ready_next = NULL;
    if (p->tail)
        p->tail->ready_next = sub;
    else
        p->head = sub;
    p->tail = sub;
}

/* Wake an idle thread when something is listed (pool mu held). */
static void pool_signal(jw__delivery_pool *p)
{
    if (p->head && p->idle)
        pthread_cond_signal(&p->cond);
}

/* One turn of a listed subscription: a batch, then back on the list if
 * more came, else off it (and finished once closed and empty). */
static void pool_turn(jw__delivery_pool *p, jw_sub *sub)
{
    jw__sub_set_delivering(sub);
    pthread_mutex_lock(&sub->mu);
    deliver_batch(sub);
    int again = sub->head != NULL, done = 0;
    if (again) {
        pthread_mutex_lock(&p->mu);
        pool_push(p, sub); /* with the reference the list gave this turn */
        pool_signal(p);
        pthread_mutex_unlock(&p->mu);
    } else {
        sub->listed = 0;
        done = sub->state == JW__SUB_CLOSED && !sub->finished;
        sub->finished |= done;
    }
    pthread_mutex_unlock(&sub->mu);
    jw__sub_set_delivering(NULL);
    if (again)
        return; /* another thread may have it already */
    if (done)
        delivery_done(sub->conn);
    jw__sub_release(sub);
}

static void *pool_main(void *arg)
{
    jw__delivery_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->cond, &p->mu);
            p->idle--;
        }
        /* One at a time: a handler that blocks holds up no other
         * subscription than its own. */
        jw_sub *sub = p->head;
        if (!sub)
            break; /* stopped, and nothing is listed */
        p->head = sub->ready_next;
        if (!p->head)
            p->tail = NULL;
        sub->ready_next = NULL;
        pool_signal(p); /* more listed: another thread takes them */
        pthread_mutex_unlock(&p->mu);
        pool_turn(p, sub);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    pool_release(p);
    return NULL;
}

/* The connection's pool, started with its first subscription (conn mu
 * held). */
static jw_status pool_get(jw_conn *c, jw__delivery_pool **out)
{
    jw__delivery_pool *have = atomic_load(&c->delivery_pool);
    if (have) {
        *out = have;
        return JW_OK;
    }
    jw__delivery_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    jw__cond_init(&p->cond);
    atomic_init(&p->refs, 1);
    int want = c->opts.delivery_threads > POOL_MAX_THREADS
                   ? POOL_MAX_THREADS
                   : (int)c->opts.delivery_threads;
    for (int i = 0; i < want; i++) {
        atomic_fetch_add(&p->refs, 1);
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            atomic_fetch_sub(&p->refs, 1);
            break;
        }
        p->count++;
    }
    if (p->count == 0) {
        pool_release(p);
        return jw__fail(JW_ENO_MEMORY, "cannot start a delivery thread");
    }
    atomic_store(&c->delivery_pool, p);
    *out = p;
    return JW_OK;
}

void jw__delivery_pool_free(jw__delivery_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    /* The last reference on the connection may go on one of the pool's
     * threads (a handler's subscription released there): that one is not
     * waited for, and frees the pool if it is the last out. */
    for (int i = 0; i < p->count; i++) {
        if (pthread_equal(p->threads[i], pthread_self()))
            pthread_detach(p->threads[i]);
        else
            pthread_join(p->threads[i], NULL);
    }
    pool_release(p);
}

/* ---- both ---- */

jw_status jw__delivery_start(jw_sub *sub)
{
    jw_conn *c = sub->conn;
    sub->threaded = 1;
    if (c->opts.delivery_threads > 0) {
        jw__delivery_pool *p = NULL;
        jw_status st = pool_get(c, &p);
        if (st) {
            sub->threaded = 0;
            return st;
        }
        sub->pooled = 1;
    } else {
        atomic_fetch_add(&sub->refs, 1);
        if (pthread_create(&sub->thread, NULL, own_thread_main, sub) != 0) {
            sub->threaded = 0;
            atomic_fetch_sub(&sub->refs, 1);
            return jw__fail(JW_ENO_MEMORY, "cannot start a delivery thread");
        }
    }
    c->delivering++;
    return JW_OK;
}

void jw__delivery_wake(jw_sub *sub, int now)
{
    if (!sub->pooled)
        return; /* its own thread waits on sub->cond */
    if (sub->listed || sub->finished)
        return;
    sub->listed = 1;
    atomic_fetch_add(&sub->refs, 1);
    jw_conn *c = sub->conn;
    if (!now) {
        /* The loop, inside a read: the pool gets the read's whole list
         * at its end, under one hold of its lock. */
        sub->ready_next = NULL;
        if (c->listed_tail)
            c->listed_tail->ready_next = sub;
        else
            c->listed_head = sub;
        c->listed_tail = sub;
        return;
    }
    jw__delivery_pool *p = atomic_load(&c->delivery_pool);
    pthread_mutex_lock(&p->mu);
    pool_push(p, sub);
    pool_signal(p);
    pthread_mutex_unlock(&p->mu);
}

void jw__delivery_kick(jw_conn *c)
{
    if (!c->listed_head)
        return;
    jw__delivery_pool *p = atomic_load(&c->delivery_pool);
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->ready_next = c->listed_head;
    else
        p->head = c->listed_head;
    p->tail = c->listed_tail;
    pool_signal(p);
    pthread_mutex_unlock(&p->mu);
    c->listed_head = c->listed_tail = NULL;
}

void jw__delivery_end(jw_sub *sub)
{
    if (!sub->threaded || sub->pooled)
        return;
    /* Waiting for the thread would wait for a handler when this is one
     * (see wait_handler in sub.c). */
    if (jw__loop_in_callback() || jw__sub_delivering())
        pthread_detach(sub->thread);
    else
        pthread_join(sub->thread, NULL);
}
