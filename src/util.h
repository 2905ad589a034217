/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers more than one module needs: clocks, a hash, the hostname. No state. */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UTIL_FNV1A_OFFSET 0xcbf29ce484222325ULL

/* 64-bit FNV-1a over LEN bytes of DATA, continuing from H (start with UTIL_FNV1A_OFFSET). */
uint64_t util_fnv1a(const void *data, size_t len, uint64_t h);

/* A newly allocated formatted string, NULL when out of memory. */
char *util_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK in nanoseconds, microseconds and milliseconds. */
uint64_t util_clock_ns(clockid_t clock);
uint64_t util_clock_us(clockid_t clock);
uint64_t util_clock_ms(clockid_t clock);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t util_now_ms(void);

/* The hostname up to its first '.' into BUF (SIZE > 0), or FALLBACK when there is none. */
void util_hostname(char *buf, size_t size, const char *fallback);

/* Makes the TCP socket FD acknowledge what it received now rather than after the delayed-ACK
 * timer (TCP_QUICKACK, which the kernel forgets again: set it after each read). A peer that
 * holds small writes until its last one is acknowledged (Nagle's algorithm, mosquitto's default)
 * then sends the next message at once. Errors are ignored: it is an optimisation. */
void util_tcp_ack_now(int fd);

/* pthread_create() with a stack of STACK_SIZE bytes (rounded up to whole pages by the C library)
 * instead of the default (8 MiB of address space on glibc). 0 or a negative errno. */
int util_thread_start(pthread_t *thread, size_t stack_size, void *(*fn)(void *), void *arg);
