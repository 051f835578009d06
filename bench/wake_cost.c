/*
 * What waking a thread costs on this machine, without any NATS: two
 * threads pass a turn back and forth through a mutex and a condition
 * variable (as the engine's loop hands a reply to a waiting caller), and
 * the same with the waiter spinning on the turn for up to --spin-us first.
 * Prints the round trip (two hand-offs) in microseconds. docs/benchmarks.md
 * ("Where the time goes") explains why it matters to request/reply.
 *
 *   wake_cost [--rounds 20000] [--spin-us 0]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static atomic_int turn; /* whose turn: 0 (main) or 1 (the other) */
static long rounds = 20000;
static long spin_us = 0;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void wait_turn(int me)
{
    if (spin_us > 0) {
        double until = now_us() + (double)spin_us;
        while (atomic_load(&turn) != me && now_us() < until)
            ;
    }
    pthread_mutex_lock(&mu);
    while (atomic_load(&turn) != me)
        pthread_cond_wait(&cond, &mu);
    pthread_mutex_unlock(&mu);
}

static void give_turn(int to)
{
    pthread_mutex_lock(&mu);
    atomic_store(&turn, to);
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&mu);
}

static void *other(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        wait_turn(1);
        give_turn(0);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rounds") == 0)
            rounds = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--spin-us") == 0)
            spin_us = atol(argv[i + 1]);
    }
    if (rounds < 1)
        rounds = 1;
    pthread_t t;
    if (pthread_create(&t, NULL, other, NULL) != 0)
        return 2;
    double start = now_us();
    for (long i = 0; i < rounds; i++) {
        give_turn(1);
        wait_turn(0);
    }
    double elapsed = now_us() - start;
    pthread_join(t, NULL);
    printf("RESULT lib=none mode=wake spin_us=%ld rounds=%ld "
           "round_trip_us=%.2f\n",
           spin_us, rounds, elapsed / (double)rounds);
    return 0;
}
