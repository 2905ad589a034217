/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UTIL_FNV1A_PRIME 0x100000001b3ULL

uint64_t util_fnv1a(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UTIL_FNV1A_PRIME;
	}
	return h;
}

char *util_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

uint64_t util_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t util_clock_us(clockid_t clock)
{
	return util_clock_ns(clock) / 1000ULL;
}

uint64_t util_clock_ms(clockid_t clock)
{
	return util_clock_ns(clock) / 1000000ULL;
}

uint64_t util_now_ms(void)
{
	return util_clock_ms(CLOCK_MONOTONIC);
}

void util_hostname(char *buf, size_t size, const char *fallback)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	snprintf(buf, size, "%s", host[0] ? host : fallback);
}

void util_tcp_ack_now(int fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

int util_thread_start(pthread_t *thread, size_t stack_size, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int r;

	r = pthread_attr_init(&attr);
	if (r)
		return -r;
	r = pthread_attr_setstacksize(&attr, stack_size);
	if (r == 0)
		r = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -r;
}
