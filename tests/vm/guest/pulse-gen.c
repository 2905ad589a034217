/* SPDX-License-Identifier: MIT */
/* Guest helper: pulses on a gpio-sim line, written to its sysfs "pull" file (the line must be
 * low at the start). Built statically on the host like notify-listen. Prints one summary line.
 *
 *   pulse-gen train PULL N HZ [HOLD_AT...]
 *     N pulses at HZ (0: unpaced, as fast as the writes go, as an ordinary process): rising edge at t0 + k/HZ, falling
 *     half a period later, on absolute CLOCK_MONOTONIC deadlines (clock_nanosleep TIMER_ABSTIME),
 *     so the rate does not drift with the time a write takes. A deadline missed by more than a
 *     whole period (the guest stalled) restarts the schedule from now instead of sending the
 *     missed pulses in a burst: every interval stays >= the period, and the stall is counted
 *     ("slips"). After the pulse numbered HOLD_AT it prints "held K" and waits for SIGUSR1
 *     (the schedule moves on by the time held). SIGUSR2 prints "at K late_max_us=L": the pulses
 *     made so far and the latest a rising edge came since the last "at" (its deadline missed by L).
 *     Summary: "done pulses=N edges=2N seconds=S rate=R late_max_us=L slips=X holds=H"
 *     (seconds and rate without the time held).
 *
 *   pulse-gen glitch PULL N HIGH_MS LOW_MS DEBOUNCE_MS
 *     N proper pulses (HIGH_MS up, LOW_MS down; relative sleeps, so under load a phase only gets
 *     longer), each with glitches that a DEBOUNCE_MS filter must swallow: a bounce at the rising
 *     edge (up-down-up), a dip to low in the middle of the high phase and a spike to high in the
 *     middle of the low phase, each as short as two writes. A glitch whose two writes were, by
 *     the clock around them, DEBOUNCE_MS or more apart (a busy host) is counted as "long": the
 *     kernel may then rightly report it.
 *     Summary: "done pulses=N glitches=G long=L glitch_max_us=M"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pull_fd;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(long long t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000LL), .tv_nsec = (long)(t % 1000000000LL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

static void level(int up)
{
	const char *s = up ? "pull-up" : "pull-down";

	if (pwrite(pull_fd, s, strlen(s), 0) < 0) {
		perror("pulse-gen: write pull");
		exit(1);
	}
}

static int train(int argc, char **argv)
{
	long n = atol(argv[0]), made = 0;
	double hz = atof(argv[1]);
	long long period = hz > 0 ? (long long)(1e9 / hz) : 0, t0, t_start, t_end, held_ns = 0;
	long long late_max = 0, late_win = 0; /* late_win: the latest rising edge since "at" */
	long slips = 0, holds = 0;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	t0 = t_start = now_ns();
	while (made < n) {
		long long due = t0 + made * period, late;
		struct timespec zero = { 0, 0 };
		siginfo_t info;

		if (period) {
			sleep_until(due);
			late = now_ns() - due;
			if (late > late_max)
				late_max = late;
			if (late > late_win)
				late_win = late;
			if (late > period) { /* a stall: no catch-up burst */
				slips++;
				t0 += late;
				due += late;
			}
		}
		level(1);
		if (period)
			sleep_until(due + period / 2);
		level(0);
		made++;
		while (sigtimedwait(&set, &info, &zero) == SIGUSR2) {
			printf("at %ld late_max_us=%lld\n", made, late_win / 1000);
			late_win = 0;
		}
		for (int i = 2; i < argc; i++) {
			long long h0;

			if (atol(argv[i]) != made)
				continue;
			printf("held %ld\n", made);
			h0 = now_ns();
			while (sigwait(&set, &sig) == 0 && sig != SIGUSR1)
				printf("at %ld late_max_us=%lld\n", made, late_win / 1000);
			held_ns += now_ns() - h0;
			t0 += now_ns() - h0;
			holds++;
		}
	}
	t_end = now_ns();
	{
		double secs = (double)(t_end - t_start - held_ns) / 1e9;

		printf("done pulses=%ld edges=%ld seconds=%.3f rate=%.2f late_max_us=%lld slips=%ld "
		       "holds=%ld\n", made, 2 * made, secs, secs > 0 ? (double)made / secs : 0.0,
		       late_max / 1000, slips, holds);
	}
	return 0;
}

static int glitch(char **argv)
{
	long n = atol(argv[0]), glitches = 0, longs = 0;
	long long high = atol(argv[1]) * 1000000LL, low = atol(argv[2]) * 1000000LL;
	long long debounce = atol(argv[3]) * 1000000LL, gmax = 0;

	for (long i = 0; i < n; i++) {
		long long t, g;

		/* a bounce at the rising edge: up, down, up */
		t = now_ns();
		level(1);
		level(0);
		level(1);
		g = now_ns() - t;
		/* the high phase, with a dip in its middle */
		sleep_until(now_ns() + high / 2);
		t = now_ns();
		level(0);
		level(1);
		g = now_ns() - t > g ? now_ns() - t : g;
		sleep_until(now_ns() + high / 2);
		level(0);
		/* the low phase, with a spike in its middle */
		sleep_until(now_ns() + low / 2);
		t = now_ns();
		level(1);
		level(0);
		{
			long long s = now_ns() - t;

			glitches += 3;
			longs += (g >= debounce) + (s >= debounce);
			if (s > g)
				g = s;
		}
		if (g > gmax)
			gmax = g;
		sleep_until(now_ns() + low / 2);
	}
	printf("done pulses=%ld glitches=%ld long=%ld glitch_max_us=%lld\n", n, glitches, longs,
	       gmax / 1000);
	return 0;
}

int main(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 10 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 5 || (strcmp(argv[1], "train") && strcmp(argv[1], "glitch")) ||
	    (!strcmp(argv[1], "glitch") && argc < 7)) {
		fprintf(stderr, "usage: pulse-gen train PULL N HZ [HOLD_AT...] | "
				"glitch PULL N HIGH_MS LOW_MS DEBOUNCE_MS\n");
		return 2;
	}
	pull_fd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (pull_fd < 0) {
		perror(argv[2]);
		return 1;
	}
	/* Paced: real-time, below the kernel's threaded interrupt handlers (50): steady pulses on a
	 * busy guest, and the edges are still handled as they come (best effort). Unpaced (HZ 0) it
	 * would never yield and starve the reader on a one-CPU guest: an ordinary process then. */
	if (strcmp(argv[1], "train") || atof(argv[4]) > 0)
		sched_setscheduler(0, SCHED_FIFO, &sp);
	if (!strcmp(argv[1], "train"))
		return train(argc - 3, argv + 3);
	return glitch(argv + 3);
}
