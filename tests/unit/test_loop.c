/* SPDX-License-Identifier: MIT */
/* The main loop: fd callbacks, one-shot and periodic timers, removal while dispatching, the
 * exit code of loop_quit() and the error of a failing callback. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "tap.h"

struct ctx {
	struct loop *loop;
	int reads;
	int ticks;
	int once;
	struct loop_source *self;
	struct loop_source *other;
	int fd_write;
};

static int on_read(void *userdata, int fd, uint32_t events)
{
	struct ctx *c = userdata;
	char buf[16];

	if (read(fd, buf, sizeof(buf)) > 0)
		c->reads++;
	return 0;
}

static int on_once(void *userdata)
{
	struct ctx *c = userdata;

	c->once++;
	/* Wake the fd callback from a timer: both run in the same loop. */
	(void)!write(c->fd_write, "x", 1);
	return 0;
}

static int on_tick(void *userdata)
{
	struct ctx *c = userdata;

	if (++c->ticks == 3)
		loop_quit(c->loop, 42);
	return 0;
}

static int on_fail(void *userdata)
{
	(void)userdata;
	return -EPROTO;
}

static int on_remove_both(void *userdata)
{
	struct ctx *c = userdata;

	c->ticks++;
	/* Removing ourselves and another source that is due in the same batch, from inside a
	 * callback: the other one must not run afterwards. */
	loop_source_remove(c->self);
	loop_source_remove(c->other);
	loop_quit(c->loop, 7);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void)
{
	struct ctx c = { 0 };
	struct loop_source *tick, *once, *fail;
	int fds[2];
	double start;

	tap_is_int(loop_new(&c.loop), 0, "loop created");
	tap_is_int(pipe(fds), 0, "pipe");
	c.fd_write = fds[1];
	tap_is_int(loop_add_fd(c.loop, fds[0], on_read, &c, NULL), 0, "fd added");
	tap_is_int(loop_add_timer(c.loop, on_once, &c, &once), 0, "one-shot timer added");
	tap_is_int(loop_add_timer(c.loop, on_tick, &c, &tick), 0, "periodic timer added");
	tap_is_int(loop_timer_arm(once, 5000, 0), 0, "one-shot armed at 5 ms");
	tap_is_int(loop_timer_arm(tick, 20000, 20000), 0, "periodic armed every 20 ms");

	start = now_ms();
	tap_is_int(loop_run(c.loop), 42, "loop_run returns loop_quit's code");
	tap_ok(now_ms() - start >= 59.0, "three 20 ms ticks took at least 60 ms");
	tap_is_int(c.ticks, 3, "periodic timer fired 3 times");
	tap_is_int(c.once, 1, "one-shot fired once");
	tap_is_int(c.reads, 1, "fd callback ran for the byte the timer wrote");

	tap_is_int(loop_timer_arm(tick, 0, 0), 0, "disarm");
	tap_is_int(loop_add_timer(c.loop, on_fail, &c, &fail), 0, "failing timer added");
	tap_is_int(loop_timer_arm(fail, 1000, 0), 0, "armed");
	tap_is_int(loop_run(c.loop), -EPROTO, "a callback's error stops the loop with it");
	loop_source_remove(fail);

	c.ticks = 0;
	tap_is_int(loop_add_timer(c.loop, on_remove_both, &c, &c.self), 0, "self-removing timer");
	tap_is_int(loop_add_timer(c.loop, on_remove_both, &c, &c.other), 0, "second such timer");
	/* Both due in the same epoll batch; whichever runs first removes the other. */
	loop_timer_arm(c.other, 1000, 0);
	loop_timer_arm(c.self, 1000, 0);
	usleep(5000);
	tap_is_int(loop_run(c.loop), 7, "loop quits from the removing callback");
	tap_is_int(c.ticks, 1, "the removed timer never ran");

	loop_free(c.loop);
	close(fds[0]);
	close(fds[1]);
	return tap_done();
}
