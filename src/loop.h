/* SPDX-License-Identifier: MIT */
#pragma once

/* The main loop: file descriptors with callbacks and timers (timerfd), all dispatched from one
 * thread. The process sleeps in epoll_wait() until something happens; there is no tick. */

#include <stdint.h>

struct loop;
struct loop_source;

/* A callback returns 0 to go on or a negative errno to stop the loop with that error. */
typedef int (*loop_fd_fn)(void *userdata, int fd, uint32_t events);
typedef int (*loop_timer_fn)(void *userdata);

int loop_new(struct loop **out);
void loop_free(struct loop *loop);

/* Watches FD for EPOLLIN. The loop does not own FD. */
int loop_add_fd(struct loop *loop, int fd, loop_fd_fn fn, void *userdata,
		struct loop_source **out);
/* A disarmed timer; arm it with loop_timer_arm(). */
int loop_add_timer(struct loop *loop, loop_timer_fn fn, void *userdata, struct loop_source **out);
/* Fires first after FIRST_USEC (> 0), then every INTERVAL_USEC (0: once). FIRST_USEC 0 disarms. */
int loop_timer_arm(struct loop_source *timer, uint64_t first_usec, uint64_t interval_usec);
/* Safe to call from any callback, including the source's own. */
void loop_source_remove(struct loop_source *source);

/* Runs until loop_quit() (returns its code) or a callback fails (returns its negative errno;
 * the callback logs why). */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop, int code);
