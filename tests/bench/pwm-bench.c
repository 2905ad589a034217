/* SPDX-License-Identifier: MIT */
/* pwm-bench: the PWM light measurements (tests/bench/README.md, "PWM lights"), run inside the
 * test VM with the test PWM chip (tests/vm/pwm-test). Every time comes from the PWM core's
 * pwm:pwm_apply tracepoint (trace_clock mono, the clock the publisher reads): the moment the
 * chip took the state. Prints one JSON object on stdout; times are milliseconds.
 *
 *   floor DUTYFILE N PERIOD_NS          write() of duty_cycle to an exported channel -> its
 *                                       pwm_apply event
 *   cmd   SETTOPIC DUTYFILE N QOS       publish a brightness (10..89 %, never the same twice in
 *                                       a row) -> the pwm_apply event of the new duty; DUTYFILE
 *                                       (the channel's duty_cycle) only tells when it is done
 *   fade  SETTOPIC DUTYFILE N MS PERIOD_NS  N fades of MS ms, 10 % <-> 100 %: the intervals
 *                                       between the steps the kernel applied (p50/p99/max),
 *                                       steps, publish -> first step, first -> last step
 *
 * The MQTT client, pacing, statistics and sysfs helpers are g2m-bench.c's, included here with
 * its main() renamed. Broker: $BENCH_HOST (127.0.0.1) : $BENCH_PORT (1883).
 */
#define main g2m_bench_main
#include "g2m-bench.c"
#undef main

#define PWM_EV_MAX 100000

struct pwm_ev {
	double t; /* mono ms */
	unsigned long long duty;
};

static void pwm_trace_begin(void)
{
	trace_events_begin(TRACE "/events/pwm/pwm_apply/enable");
}

/* The pwm_apply events since pwm_trace_begin, in order. 6.1 prints "<ptr>: period=..", 6.12
 * "pwmchipN.M: period=.. err=E" (also for a state the driver refused: those are left out). */
static int pwm_trace_end(struct pwm_ev *ev, int max)
{
	write_str(TRACE "/tracing_on", "0");
	write_str(TRACE "/events/pwm/pwm_apply/enable", "0");
	FILE *f = fopen(TRACE "/trace", "r");
	char line[512];
	int n = 0;
	if (!f) return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *p, *d, *e;
		if (line[0] == '#' || !(p = strstr(line, " pwm_apply: ")) || !(d = strstr(p, " duty_cycle=")))
			continue;
		if ((e = strstr(p, " err=")) && atoi(e + 5) != 0) continue;
		ev[n].duty = strtoull(d + 12, NULL, 10);
		if (trace_line_ms(line, p, &ev[n].t) < 0) continue;
		n++;
	}
	fclose(f);
	write_str(TRACE "/trace_clock", "local");
	return n;
}

static unsigned long long read_u64(int fd)
{
	char b[32];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	if (n <= 0) die("read duty_cycle");
	b[n] = 0;
	return strtoull(b, NULL, 10);
}

/* Waits (at most MS) until the channel's duty is not OLD any more; returns it. */
static unsigned long long duty_wait_change(int fd, unsigned long long old, double ms)
{
	double t0 = mono();
	unsigned long long d;
	while ((d = read_u64(fd)) == old && mono() - t0 < ms) sleep_ms(0.5);
	return d;
}
/* Waits (at most MS) until the channel's duty is WANT; returns whether it is. */
static bool duty_wait(int fd, unsigned long long want, double ms)
{
	double t0 = mono();
	while (read_u64(fd) != want && mono() - t0 < ms) sleep_ms(1);
	return read_u64(fd) == want;
}

/* v[i] = the time from t0s[i] to the first event at or after it, before t0s[i + 1], whose duty
 * is duties[i] (any duty when duties is NULL); -1 when there is none. */
static void pwm_match(const struct pwm_ev *ev, int ne, const double *t0s,
		      const unsigned long long *duties, double *v, int n)
{
	int j = 0;
	for (int i = 0; i < n; i++) {
		v[i] = -1;
		while (j < ne && (ev[j].t < t0s[i] || (duties && ev[j].duty != duties[i]))) {
			if (i + 1 < n && ev[j].t >= t0s[i + 1]) break;
			j++;
		}
		if (j < ne && ev[j].t >= t0s[i] && (i + 1 >= n || ev[j].t < t0s[i + 1]) &&
		    (!duties || ev[j].duty == duties[i]))
			v[i] = ev[j].t - t0s[i];
	}
}

static void stats_of(double *v, int n, const char *extra)
{
	int got = 0, missed = 0;
	for (int i = 0; i < n; i++) {
		if (v[i] >= 0) v[got++] = v[i]; else missed++;
	}
	print_stats(extra, v, got, missed);
}

static int mode_pwm_floor(char **a)
{
	int n = atoi(a[1]);
	unsigned long long period = strtoull(a[2], NULL, 10);
	double *t0s = calloc((size_t)n, sizeof(double)), *v = calloc((size_t)n, sizeof(double));
	unsigned long long *duty = calloc((size_t)n, sizeof(*duty));
	struct pwm_ev *ev = calloc(PWM_EV_MAX, sizeof(*ev));
	int fd = open(a[0], O_RDWR | O_CLOEXEC);
	char text[32];
	if (fd < 0) die(a[0]);
	pwm_trace_begin();
	for (int i = 0; i < n; i++) {
		pace();
		duty[i] = period * (unsigned long long)(10 + i % 80) / 100;
		int len = snprintf(text, sizeof(text), "%llu", duty[i]);
		t0s[i] = mono();
		if (pwrite(fd, text, (size_t)len, 0) != len) die("write duty_cycle");
	}
	int ne = pwm_trace_end(ev, PWM_EV_MAX);
	pwm_match(ev, ne, t0s, duty, v, n);
	stats_of(v, n, "\"timed_by\":\"pwm_apply tracepoint\"");
	close(fd);
	return 0;
}

static int mode_pwm_cmd(char **a)
{
	struct client c;
	int n = atoi(a[2]), qos = atoi(a[3]);
	double *t0s = calloc((size_t)n, sizeof(double)), *v = calloc((size_t)n, sizeof(double));
	struct pwm_ev *ev = calloc(PWM_EV_MAX, sizeof(*ev));
	int fd = open(a[1], O_RDONLY | O_CLOEXEC);
	int timeouts = 0;
	char text[16], extra[96];
	if (fd < 0) die(a[1]);
	client_open(&c, NULL, qos);
	unsigned long long duty = read_u64(fd);
	pwm_trace_begin();
	for (int i = 0; i < n; i++) {
		pace();
		snprintf(text, sizeof(text), "%d", 10 + i % 80);
		t0s[i] = mono();
		client_pub(&c, a[0], text, qos);
		unsigned long long d = duty_wait_change(fd, duty, 3000);
		timeouts += d == duty;
		duty = d;
		sleep_ms(5);
	}
	int ne = pwm_trace_end(ev, PWM_EV_MAX);
	pwm_match(ev, ne, t0s, NULL, v, n);
	snprintf(extra, sizeof(extra), "\"timed_by\":\"pwm_apply tracepoint\",\"no_change_in_3s\":%d",
		 timeouts);
	stats_of(v, n, extra);
	client_close(&c);
	return 0;
}

static int mode_pwm_fade(char **a)
{
	struct client c;
	int n = atoi(a[2]);
	double ms = atof(a[3]);
	unsigned long long period = strtoull(a[4], NULL, 10);
	double *t0s = calloc((size_t)n + 1, sizeof(double));
	struct pwm_ev *ev = calloc(PWM_EV_MAX, sizeof(*ev));
	double *iv = calloc(PWM_EV_MAX, sizeof(double));
	int fd = open(a[1], O_RDONLY | O_CLOEXEC), ni = 0, steps = 0, unfinished = 0;
	double first_max = 0, dur_min = 1e12, dur_max = 0;
	char text[80], extra[256];
	if (fd < 0) die(a[1]);
	client_open(&c, NULL, 1);
	/* from 10 %, with no fade */
	client_pub(&c, a[0], "{\"state\":\"ON\",\"brightness\":10,\"transition\":0}", 1);
	if (!duty_wait(fd, period / 10, 3000)) { errno = ETIMEDOUT; die("the light did not go to 10 %"); }
	sleep_ms(100);
	pwm_trace_begin();
	for (int i = 0; i < n; i++) {
		bool up = i % 2 == 0;
		snprintf(text, sizeof(text), "{\"brightness\":%d,\"transition\":%.3f}", up ? 100 : 10, ms / 1e3);
		t0s[i] = mono();
		client_pub(&c, a[0], text, 1);
		unfinished += !duty_wait(fd, up ? period : period / 10, ms + 3000);
		sleep_ms(100);
	}
	t0s[n] = mono();
	int ne = pwm_trace_end(ev, PWM_EV_MAX);
	for (int i = 0; i < n; i++) {
		double first = -1, last = -1, prev = -1;
		for (int j = 0; j < ne; j++) {
			if (ev[j].t < t0s[i] || ev[j].t >= t0s[i + 1]) continue;
			if (first < 0) first = ev[j].t;
			if (prev >= 0 && ni < PWM_EV_MAX) iv[ni++] = ev[j].t - prev;
			prev = last = ev[j].t;
			steps++;
		}
		if (first < 0) continue;
		if (first - t0s[i] > first_max) first_max = first - t0s[i];
		if (last - first < dur_min) dur_min = last - first;
		if (last - first > dur_max) dur_max = last - first;
	}
	snprintf(extra, sizeof(extra),
		 "\"timed_by\":\"pwm_apply tracepoint\",\"fades\":%d,\"fade_ms\":%.0f,\"steps\":%d,"
		 "\"unfinished\":%d,\"first_step_ms_max\":%.3f,\"duration_ms_min\":%.3f,"
		 "\"duration_ms_max\":%.3f", n, ms, steps, unfinished, first_max,
		 dur_min > dur_max ? 0 : dur_min, dur_max);
	print_stats(extra, iv, ni, 0);
	client_close(&c);
	return 0;
}

int main(int argc, char **argv)
{
	srand((unsigned int)getpid());
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "floor")) return mode_pwm_floor(argv + 2);
	if (argc >= 6 && !strcmp(argv[1], "cmd")) return mode_pwm_cmd(argv + 2);
	if (argc >= 7 && !strcmp(argv[1], "fade")) return mode_pwm_fade(argv + 2);
	fprintf(stderr, "usage: see the header of tests/bench/pwm-bench.c\n");
	return 2;
}
