/* SPDX-License-Identifier: MIT */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"

struct loop_source {
	struct loop *loop;
	struct loop_source *next; /* all sources, for loop_free() */
	int fd;
	bool is_timer;
	bool removed;
	loop_fd_fn fd_fn;
	loop_timer_fn timer_fn;
	void *userdata;
};

struct loop {
	int epoll_fd;
	bool quit;
	int exit_code;
	bool dispatching;
	struct loop_source *sources;
};

int loop_new(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		int r = -errno;

		free(loop);
		return r;
	}
	*out = loop;
	return 0;
}

static void loop_source_free(struct loop_source *source)
{
	if (source->is_timer && source->fd >= 0)
		close(source->fd);
	free(source);
}

/* Frees the sources removed while dispatching, once no event can point at them any more. */
static void loop_sweep(struct loop *loop)
{
	struct loop_source **link = &loop->sources;

	while (*link) {
		struct loop_source *source = *link;

		if (source->removed) {
			*link = source->next;
			loop_source_free(source);
		} else {
			link = &source->next;
		}
	}
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	for (struct loop_source *s = loop->sources; s; s = s->next)
		s->removed = true;
	loop_sweep(loop);
	close(loop->epoll_fd);
	free(loop);
}

static int loop_source_add(struct loop *loop, struct loop_source *source)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = source };

	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, source->fd, &ev) < 0)
		return -errno;
	source->loop = loop;
	source->next = loop->sources;
	loop->sources = source;
	return 0;
}

int loop_add_fd(struct loop *loop, int fd, loop_fd_fn fn, void *userdata,
		struct loop_source **out)
{
	struct loop_source *source = calloc(1, sizeof(*source));
	int r;

	if (!source)
		return -ENOMEM;
	source->fd = fd;
	source->fd_fn = fn;
	source->userdata = userdata;
	r = loop_source_add(loop, source);
	if (r < 0) {
		free(source);
		return r;
	}
	if (out)
		*out = source;
	return 0;
}

int loop_add_timer(struct loop *loop, loop_timer_fn fn, void *userdata, struct loop_source **out)
{
	struct loop_source *source = calloc(1, sizeof(*source));
	int r;

	if (!source)
		return -ENOMEM;
	source->is_timer = true;
	source->timer_fn = fn;
	source->userdata = userdata;
	source->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (source->fd < 0) {
		r = -errno;
		goto free_source;
	}
	r = loop_source_add(loop, source);
	if (r < 0)
		goto close_fd;
	if (out)
		*out = source;
	return 0;

close_fd:
	close(source->fd);
free_source:
	free(source);
	return r;
}

static struct timespec loop_timespec(uint64_t usec)
{
	return (struct timespec){
		.tv_sec = (time_t)(usec / 1000000),
		.tv_nsec = (long)(usec % 1000000) * 1000,
	};
}

int loop_timer_arm(struct loop_source *timer, uint64_t first_usec, uint64_t interval_usec)
{
	struct itimerspec its = {
		.it_value = loop_timespec(first_usec),
		.it_interval = loop_timespec(first_usec ? interval_usec : 0),
	};

	if (!timer->is_timer)
		return -EINVAL;
	if (timerfd_settime(timer->fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

void loop_source_remove(struct loop_source *source)
{
	if (!source || source->removed)
		return;
	epoll_ctl(source->loop->epoll_fd, EPOLL_CTL_DEL, source->fd, NULL);
	source->removed = true;
	if (!source->loop->dispatching)
		loop_sweep(source->loop);
}

static int loop_dispatch(struct loop_source *source, uint32_t events)
{
	if (source->is_timer) {
		uint64_t expirations;

		/* A timer re-armed by another callback in this batch may read EAGAIN: not due. */
		if (read(source->fd, &expirations, sizeof(expirations)) < 0)
			return errno == EAGAIN ? 0 : -errno;
		return source->timer_fn(source->userdata);
	}
	return source->fd_fn(source->userdata, source->fd, events);
}

int loop_run(struct loop *loop)
{
	struct epoll_event events[16];

	loop->quit = false;
	while (!loop->quit) {
		int n = epoll_wait(loop->epoll_fd, events, (int)(sizeof(events) / sizeof(events[0])), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("main loop: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		loop->dispatching = true;
		for (int i = 0; i < n; i++) {
			struct loop_source *source = events[i].data.ptr;
			int r;

			if (source->removed)
				continue;
			r = loop_dispatch(source, events[i].events);
			if (r < 0) {
				loop->dispatching = false;
				loop_sweep(loop);
				return r;
			}
		}
		loop->dispatching = false;
		loop_sweep(loop);
	}
	return loop->exit_code;
}

void loop_quit(struct loop *loop, int code)
{
	loop->quit = true;
	loop->exit_code = code;
}
