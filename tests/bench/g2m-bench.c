/* SPDX-License-Identifier: MIT */
/* g2m-bench: the measuring side of the benchmarks (tests/bench/README.md) and "the floor" the
 * bridges are compared with. Runs inside the test VM (and, for `count`, on the host). Every
 * mode prints one JSON object on stdout; times are milliseconds.
 *
 *   floor-edge  CHIPDEV OFFSET PULLFILE N     pull write -> edge event read (libgpiod v2)
 *   floor-set   CHIPDEV OFFSET VALUEFILE N    gpiod_line_request_set_value -> sim value
 *   floor-sweep CHIPDEV OFFSET PULLFILE RATE MS   paced edges into a minimal reader: events
 *                                             seen and lost (sequence numbers) vs sent
 *   broker      TOPIC N QOS                   publish -> own subscription
 *   edge        PULLFILE TOPIC N QOS          pull write -> message on TOPIC (any payload)
 *   cmd         SETTOPIC VALUEFILE N QOS [GPIONUM]  publish 1/0 alternately -> the sim value
 *                                             follows; with GPIONUM the time of the kernel's
 *                                             gpio_value tracepoint (trace_clock mono) is used
 *   glitch      SETTOPIC VALUEFILE N QOS [GPIONUM]  publish "1" N times while a sampler reads
 *                                             the line: dips to 0 (count, longest), re-requests
 *   sweep       PULLFILE TOPIC RATE MS QOS    paced edges at RATE/s for MS: sent, received,
 *                                             backlog at the end, settle time, final state
 *   count       TOPIC N QOS TIMEOUT_MS READYFILE [SEQ]  (host) counts N messages, or until a
 *                                             JSON payload with "seq":SEQ (states merged per pin
 *                                             arrive fewer than the edges); prints the
 *                                             CLOCK_REALTIME of the first and the last
 * Broker: $BENCH_HOST (127.0.0.1) : $BENCH_PORT (1883), $BENCH_CAFILE for TLS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TRACE "/sys/kernel/tracing"

static double now_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
static double mono(void) { return now_ms(CLOCK_MONOTONIC); }

static void die(const char *what)
{
	fprintf(stderr, "g2m-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1e3), (long)((ms - (double)(time_t)(ms / 1e3) * 1e3) * 1e6) };
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {}
}
static void pace(void) { sleep_ms(5.0 + (double)(rand() % 10000) / 1000.0); } /* 5..15 ms */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* {"n":N,"missed":M,"p50":..,"p99":..,"max":..,"mean":..} of n samples */
static void print_stats(const char *extra, double *v, int n, int missed)
{
	double sum = 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	for (int i = 0; i < n; i++) sum += v[i];
	printf("{\"n\":%d,\"missed\":%d", n, missed);
	if (n > 0) {
		int i99 = (int)(0.99 * (n - 1) + 0.5);
		printf(",\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f", v[(n - 1) / 2], v[i99],
		       v[n - 1], sum / n);
	}
	printf("%s%s}\n", extra && *extra ? "," : "", extra ? extra : "");
	fflush(stdout);
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) die(path);
	if (write(fd, s, strlen(s)) < 0) die(path);
	close(fd);
}

static int read_level(int fd)
{
	char c = 0;
	if (pread(fd, &c, 1, 0) != 1) die("read value");
	return c == '1';
}

static void set_nice(int n)
{
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), n); /* best effort */
}

/* ---------------------------------------------------------------- MQTT client */
#define MSG_MAX 2000000
struct client {
	struct mosquitto *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool connected, subscribed, published;
	long n;           /* messages received */
	double last_t;    /* mono ms of the last message */
	double first_rt, last_rt; /* realtime ms of the first/last message */
	int last_level;   /* -1: payload not understood */
	char last_payload[64];
	char until[40];   /* count: stop at a payload containing this */
	bool until_seen;
};

static int payload_level(const char *p, int len)
{
	char b[64];
	snprintf(b, sizeof(b), "%.*s", len < 63 ? len : 63, p);
	for (char *s = b; *s; s++)
		if (*s == '\n' || *s == '\r') *s = 0;
	if (!strcasecmp(b, "ON") || !strcmp(b, "1") || !strcasecmp(b, "rising")) return 1;
	if (!strcasecmp(b, "OFF") || !strcmp(b, "0") || !strcmp(b, "2") || !strcasecmp(b, "falling"))
		return 0;
	return -1;
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	struct client *c = ud;
	(void)m;
	pthread_mutex_lock(&c->lock);
	c->connected = rc == 0;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}
static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *q)
{
	struct client *c = ud;
	(void)m; (void)mid; (void)n; (void)q;
	pthread_mutex_lock(&c->lock);
	c->subscribed = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}
static void on_publish(struct mosquitto *m, void *ud, int mid)
{
	struct client *c = ud;
	(void)m; (void)mid;
	pthread_mutex_lock(&c->lock);
	c->published = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}
static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	struct client *c = ud;
	double t = mono(), rt = now_ms(CLOCK_REALTIME);
	(void)m;
	if (msg->retain) return; /* the state before we started */
	pthread_mutex_lock(&c->lock);
	if (c->n == 0) c->first_rt = rt;
	c->n++;
	c->last_t = t;
	c->last_rt = rt;
	c->last_level = payload_level(msg->payload, msg->payloadlen);
	if (c->until[0] && msg->payloadlen > 0 &&
	    memmem(msg->payload, (size_t)msg->payloadlen, c->until, strlen(c->until)))
		c->until_seen = true;
	snprintf(c->last_payload, sizeof(c->last_payload), "%.*s",
		 msg->payloadlen < 63 ? msg->payloadlen : 63, (const char *)msg->payload);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* waits until *flag (under the lock) or the mono deadline; returns the flag */
static bool client_wait_flag(struct client *c, bool *flag, double timeout_ms)
{
	double dl = mono() + timeout_ms;
	pthread_mutex_lock(&c->lock);
	while (!*flag && mono() < dl) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 5000000;
		if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	bool r = *flag;
	pthread_mutex_unlock(&c->lock);
	return r;
}
/* waits until more than `seen` messages arrived; returns the count */
static long client_wait_count(struct client *c, long seen, double timeout_ms)
{
	double dl = mono() + timeout_ms;
	pthread_mutex_lock(&c->lock);
	while (c->n <= seen && mono() < dl) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2000000;
		if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	long n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void client_open(struct client *c, const char *sub_topic, int qos)
{
	const char *host = getenv("BENCH_HOST") ? getenv("BENCH_HOST") : "127.0.0.1";
	int port = getenv("BENCH_PORT") ? atoi(getenv("BENCH_PORT")) : 1883;
	char id[64];
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->last_level = -1;
	mosquitto_lib_init();
	snprintf(id, sizeof(id), "g2m-bench-%d", (int)getpid());
	c->m = mosquitto_new(id, true, c);
	if (!c->m) die("mosquitto_new");
	if (getenv("BENCH_CAFILE") && mosquitto_tls_set(c->m, getenv("BENCH_CAFILE"), NULL, NULL, NULL, NULL))
		die("tls_set");
	mosquitto_connect_callback_set(c->m, on_connect);
	mosquitto_subscribe_callback_set(c->m, on_subscribe);
	mosquitto_publish_callback_set(c->m, on_publish);
	mosquitto_message_callback_set(c->m, on_message);
	if (mosquitto_connect(c->m, host, port, 60) != MOSQ_ERR_SUCCESS) die("connect");
	if (mosquitto_loop_start(c->m) != MOSQ_ERR_SUCCESS) die("loop_start");
	if (!client_wait_flag(c, &c->connected, 10000)) { errno = ETIMEDOUT; die("connack"); }
	if (sub_topic) {
		mosquitto_subscribe(c->m, NULL, sub_topic, qos);
		if (!client_wait_flag(c, &c->subscribed, 10000)) { errno = ETIMEDOUT; die("suback"); }
	}
	sleep_ms(200); /* retained messages delivered on subscribe are skipped (on_message) */
}

static void client_pub(struct client *c, const char *topic, const char *payload, int qos)
{
	if (mosquitto_publish(c->m, NULL, topic, (int)strlen(payload), payload, qos, false))
		die("publish");
}

static void client_close(struct client *c)
{
	mosquitto_disconnect(c->m);
	mosquitto_loop_stop(c->m, false);
	mosquitto_destroy(c->m);
}

/* ---------------------------------------------------------------- libgpiod floor */
static struct gpiod_line_request *floor_request(const char *chipdev, unsigned int offset, bool output)
{
	struct gpiod_chip *chip = gpiod_chip_open(chipdev);
	if (!chip) die(chipdev);
	struct gpiod_line_settings *s = gpiod_line_settings_new();
	struct gpiod_line_config *lc = gpiod_line_config_new();
	struct gpiod_request_config *rc = gpiod_request_config_new();
	if (!s || !lc || !rc) die("gpiod alloc");
	if (output) {
		gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT);
		gpiod_line_settings_set_output_value(s, GPIOD_LINE_VALUE_INACTIVE);
	} else {
		gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT);
		gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_BOTH);
	}
	gpiod_line_config_add_line_settings(lc, &offset, 1, s);
	gpiod_request_config_set_consumer(rc, "g2m-bench");
	gpiod_request_config_set_event_buffer_size(rc, 1024);
	struct gpiod_line_request *req = gpiod_chip_request_lines(chip, rc, lc);
	if (!req) die("request lines");
	gpiod_line_settings_free(s);
	gpiod_line_config_free(lc);
	gpiod_request_config_free(rc);
	gpiod_chip_close(chip);
	return req;
}

static int mode_floor_edge(char **a)
{
	unsigned int off = (unsigned int)atoi(a[1]);
	int n = atoi(a[3]), got = 0, missed = 0, level;
	struct gpiod_line_request *req = floor_request(a[0], off, false);
	struct gpiod_edge_event_buffer *buf = gpiod_edge_event_buffer_new(64);
	double *v = calloc((size_t)n, sizeof(double));
	int vfd;
	char vpath[4096];
	snprintf(vpath, sizeof(vpath), "%.*s/value", (int)(strrchr(a[2], '/') - a[2]), a[2]);
	vfd = open(vpath, O_RDONLY);
	if (vfd < 0) die(vpath);
	level = read_level(vfd);
	struct pollfd pfd = { .fd = gpiod_line_request_get_fd(req), .events = POLLIN };
	for (int i = 0; i < n; i++) {
		pace();
		level = !level;
		double t0 = mono();
		write_str(a[2], level ? "pull-up" : "pull-down");
		if (poll(&pfd, 1, 2000) == 1 && gpiod_line_request_read_edge_events(req, buf, 64) > 0)
			v[got++] = mono() - t0;
		else
			missed++;
	}
	print_stats(NULL, v, got, missed);
	gpiod_line_request_release(req);
	return 0;
}

static int mode_floor_set(char **a)
{
	unsigned int off = (unsigned int)atoi(a[1]);
	int n = atoi(a[3]), got = 0, missed = 0, level = 0;
	struct gpiod_line_request *req = floor_request(a[0], off, true);
	int vfd = open(a[2], O_RDONLY);
	double *v = calloc((size_t)n, sizeof(double));
	if (vfd < 0) die(a[2]);
	for (int i = 0; i < n; i++) {
		pace();
		level = !level;
		double t0 = mono();
		gpiod_line_request_set_value(req, off, level ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
		while (read_level(vfd) != level && mono() - t0 < 2000) {}
		if (read_level(vfd) == level) v[got++] = mono() - t0; else missed++;
	}
	print_stats(NULL, v, got, missed);
	gpiod_line_request_release(req);
	return 0;
}

/* The writer of paced edges: RATE edges/s for MS; returns the number written and the mono time
 * of the last write; at high rates it writes in bursts to catch up (never sleeps when behind). */
static long write_edges(const char *pull, double rate, double ms, int *level, double *t_last)
{
	int fd = open(pull, O_WRONLY | O_CLOEXEC);
	long sent = 0;
	if (fd < 0) die(pull);
	double t0 = mono(), t;
	while ((t = mono()) - t0 < ms) {
		long due = (long)((t - t0) * rate / 1e3) + 1;
		if (sent >= due) {
			sleep_ms((double)(sent + 1 - due) * 1e3 / rate > 0.05 ? 1e3 / rate : 0.05);
			continue;
		}
		if (due - sent > 64) due = sent + 64; /* bursts of at most 64, then look at the clock */
		while (sent < due) {
			*level = !*level;
			const char *s = *level ? "pull-up" : "pull-down";
			if (pwrite(fd, s, strlen(s), 0) < 0) die("write pull");
			sent++;
		}
	}
	*t_last = mono();
	close(fd);
	return sent;
}

struct floor_reader {
	struct gpiod_line_request *req;
	volatile bool stop;
	long seen, lost;
	unsigned long last_seqno;
	int last_type;
};
static void *floor_reader_run(void *p)
{
	struct floor_reader *r = p;
	struct gpiod_edge_event_buffer *buf = gpiod_edge_event_buffer_new(1024);
	struct pollfd pfd = { .fd = gpiod_line_request_get_fd(r->req), .events = POLLIN };
	while (!r->stop) {
		if (poll(&pfd, 1, 100) != 1) continue;
		int k = gpiod_line_request_read_edge_events(r->req, buf, 1024);
		for (int i = 0; i < k; i++) {
			struct gpiod_edge_event *e = gpiod_edge_event_buffer_get_event(buf, (unsigned long)i);
			unsigned long s = gpiod_edge_event_get_line_seqno(e);
			if (r->last_seqno && s > r->last_seqno + 1) r->lost += (long)(s - r->last_seqno - 1);
			r->last_seqno = s;
			r->last_type = gpiod_edge_event_get_event_type(e) == GPIOD_EDGE_EVENT_RISING_EDGE;
			r->seen++;
		}
	}
	return NULL;
}

static int mode_floor_sweep(char **a)
{
	unsigned int off = (unsigned int)atoi(a[1]);
	struct floor_reader r = { .req = floor_request(a[0], off, false) };
	pthread_t th;
	char vpath[4096];
	snprintf(vpath, sizeof(vpath), "%.*s/value", (int)(strrchr(a[2], '/') - a[2]), a[2]);
	int vfd = open(vpath, O_RDONLY), level;
	if (vfd < 0) die(vpath);
	level = read_level(vfd);
	pthread_create(&th, NULL, floor_reader_run, &r);
	sleep_ms(100);
	set_nice(-20);
	double t_last, t_start = mono();
	long sent = write_edges(a[2], atof(a[3]), atof(a[4]), &level, &t_last);
	set_nice(0);
	long seen_at_end = r.seen;
	double dl = mono() + 10000;
	while (r.seen + r.lost < sent && mono() < dl) sleep_ms(5);
	double settle = mono() - t_last;
	r.stop = true;
	pthread_join(th, NULL);
	printf("{\"sent\":%ld,\"rate\":%.0f,\"seen\":%ld,\"lost\":%ld,\"backlog_at_end\":%ld,"
	       "\"settle_ms\":%.1f,\"final_ok\":%s}\n", sent, sent * 1e3 / (t_last - t_start), r.seen,
	       r.lost, sent - seen_at_end, settle, r.last_type == level ? "true" : "false");
	return 0;
}

static int mode_broker(char **a)
{
	struct client c;
	int n = atoi(a[1]), qos = atoi(a[2]), got = 0, missed = 0;
	double *v = calloc((size_t)n, sizeof(double));
	client_open(&c, a[0], qos);
	for (int i = 0; i < n; i++) {
		pace();
		long seen = c.n;
		double t0 = mono();
		client_pub(&c, a[0], i & 1 ? "OFF" : "ON", qos);
		if (client_wait_count(&c, seen, 2000) > seen) v[got++] = c.last_t - t0; else missed++;
	}
	print_stats(NULL, v, got, missed);
	client_close(&c);
	return 0;
}

static int mode_edge(char **a)
{
	struct client c;
	int n = atoi(a[2]), qos = atoi(a[3]), got = 0, missed = 0, level;
	double *v = calloc((size_t)n, sizeof(double));
	char vpath[4096];
	snprintf(vpath, sizeof(vpath), "%.*s/value", (int)(strrchr(a[0], '/') - a[0]), a[0]);
	int vfd = open(vpath, O_RDONLY);
	if (vfd < 0) die(vpath);
	level = read_level(vfd);
	client_open(&c, a[1], qos);
	for (int i = 0; i < n; i++) {
		pace();
		level = !level;
		long seen = c.n;
		double t0 = mono();
		write_str(a[0], level ? "pull-up" : "pull-down");
		if (client_wait_count(&c, seen, 2000) > seen) v[got++] = c.last_t - t0; else missed++;
	}
	print_stats(NULL, v, got, missed);
	client_close(&c);
	return 0;
}

/* Clears the trace and records the events whose enable file is ENABLE (trace_clock mono). */
static void trace_events_begin(const char *enable)
{
	write_str(TRACE "/tracing_on", "0");
	write_str(TRACE "/trace_clock", "mono");
	write_str(TRACE "/buffer_size_kb", "4096");
	int fd = open(TRACE "/trace", O_WRONLY | O_TRUNC);
	if (fd >= 0) close(fd);
	write_str(enable, "1");
	write_str(TRACE "/tracing_on", "1");
}

/* kernel gpio_value tracepoint with trace_clock mono: exact time of every set */
static void trace_begin(void)
{
	trace_events_begin(TRACE "/events/gpio/enable");
}
struct trace_ev { double t; int set; int value; int dir_out; };
/* The time (ms) of a trace line "... [000] ..... 1234.567890: EVENT: ...", EVENT at AT in LINE
 * (cut there). -1 when the line has none. */
static int trace_line_ms(char *line, char *at, double *ms)
{
	char *q;
	*at = 0;
	q = strrchr(line, ':');
	if (!q) return -1;
	*q = 0;
	q = strrchr(line, ' ');
	*ms = atof(q ? q + 1 : line) * 1e3;
	return 0;
}

static int trace_end(int gpio, struct trace_ev *ev, int max)
{
	write_str(TRACE "/tracing_on", "0");
	write_str(TRACE "/events/gpio/enable", "0");
	FILE *f = fopen(TRACE "/trace", "r");
	char line[512];
	int n = 0;
	if (!f) return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *p;
		int g, val;
		char kind[16];
		if (line[0] == '#') continue;
		if ((p = strstr(line, " gpio_value: ")) && sscanf(p + 13, "%d %15s %d", &g, kind, &val) == 3 &&
		    g == gpio && !strcmp(kind, "set")) {
			ev[n] = (struct trace_ev){ .set = 1, .value = val };
		} else if ((p = strstr(line, " gpio_direction: ")) && sscanf(p + 17, "%d %15s", &g, kind) == 2 &&
			   g == gpio && !strcmp(kind, "out")) {
			ev[n] = (struct trace_ev){ .dir_out = 1 };
		} else {
			continue;
		}
		if (trace_line_ms(line, p, &ev[n].t) < 0) continue;
		n++;
	}
	fclose(f);
	write_str(TRACE "/trace_clock", "local");
	return n;
}

static int mode_cmd(char **a, int argc)
{
	struct client c;
	int n = atoi(a[2]), qos = atoi(a[3]), got = 0, missed = 0, level;
	int gpio = argc > 4 ? atoi(a[4]) : -1;
	int vfd = open(a[1], O_RDONLY);
	double *v = calloc((size_t)n, sizeof(double)), *t0s = calloc((size_t)n, sizeof(double));
	int *lv = calloc((size_t)n, sizeof(int));
	if (vfd < 0) die(a[1]);
	client_open(&c, NULL, qos);
	level = read_level(vfd);
	if (gpio >= 0) trace_begin();
	for (int i = 0; i < n; i++) {
		pace();
		level = !level;
		double t0 = mono();
		t0s[i] = t0;
		lv[i] = level;
		client_pub(&c, a[0], level ? "1" : "0", qos);
		while (read_level(vfd) != level && mono() - t0 < 3000) sleep_ms(0.5);
		if (read_level(vfd) == level) v[i] = mono() - t0; else v[i] = -1;
		sleep_ms(5); /* let a slow bridge finish what it is doing */
	}
	int source_trace = 0;
	if (gpio >= 0) {
		struct trace_ev *ev = calloc(20000, sizeof(*ev));
		int ne = trace_end(gpio, ev, 20000), j = 0;
		if (ne > 0) source_trace = 1;
		for (int i = 0; i < n && source_trace; i++) {
			while (j < ne && (ev[j].t < t0s[i] || !ev[j].set || ev[j].value != lv[i])) j++;
			if (j < ne && (i + 1 >= n || ev[j].t < t0s[i + 1])) v[i] = ev[j].t - t0s[i];
		}
		free(ev);
	}
	for (int i = 0; i < n; i++) {
		if (v[i] >= 0) v[got++] = v[i]; else missed++;
	}
	char extra[64];
	snprintf(extra, sizeof(extra), "\"timed_by\":\"%s\"", source_trace ? "gpio_value tracepoint" : "polling");
	print_stats(extra, v, got, missed);
	client_close(&c);
	return 0;
}

struct sampler {
	int fd;
	volatile bool stop;
	long samples, dips;
	double longest, dip_start;
};
static void *sampler_run(void *p)
{
	struct sampler *s = p;
	int last = 1;
	while (!s->stop) {
		int l = read_level(s->fd);
		s->samples++;
		if (l != last) {
			double t = mono();
			if (!l) { s->dips++; s->dip_start = t; }
			else if (t - s->dip_start > s->longest) s->longest = t - s->dip_start;
			last = l;
		}
		sched_yield();
	}
	if (!last && mono() - s->dip_start > s->longest) s->longest = mono() - s->dip_start;
	return NULL;
}

static int mode_glitch(char **a, int argc)
{
	struct client c;
	int n = atoi(a[2]), qos = atoi(a[3]);
	int gpio = argc > 4 ? atoi(a[4]) : -1;
	struct sampler s = { .fd = open(a[1], O_RDONLY) };
	pthread_t th;
	if (s.fd < 0) die(a[1]);
	client_open(&c, NULL, qos);
	client_pub(&c, a[0], "1", qos);
	double dl = mono() + 3000;
	while (read_level(s.fd) != 1 && mono() < dl) sleep_ms(1);
	if (read_level(s.fd) != 1) { fprintf(stderr, "g2m-bench: output never went to 1\n"); return 1; }
	sleep_ms(300);
	if (gpio >= 0) trace_begin();
	pthread_create(&th, NULL, sampler_run, &s);
	for (int i = 0; i < n; i++) {
		sleep_ms(50.0 + (double)(rand() % 50));
		client_pub(&c, a[0], "1", qos);
	}
	sleep_ms(500);
	s.stop = true;
	pthread_join(th, NULL);
	int rerequests = -1;
	if (gpio >= 0) {
		struct trace_ev *ev = calloc(20000, sizeof(*ev));
		int ne = trace_end(gpio, ev, 20000);
		rerequests = 0;
		for (int i = 0; i < ne; i++) rerequests += ev[i].dir_out;
		free(ev);
	}
	printf("{\"commands\":%d,\"samples\":%ld,\"dips\":%ld,\"longest_dip_ms\":%.1f,\"rerequests\":%d,"
	       "\"final\":%d}\n", n, s.samples, s.dips, s.longest, rerequests, read_level(s.fd));
	client_close(&c);
	return 0;
}

static int mode_sweep(char **a)
{
	struct client c;
	int qos = atoi(a[4]), level;
	char vpath[4096];
	snprintf(vpath, sizeof(vpath), "%.*s/value", (int)(strrchr(a[0], '/') - a[0]), a[0]);
	int vfd = open(vpath, O_RDONLY);
	if (vfd < 0) die(vpath);
	level = read_level(vfd);
	client_open(&c, a[1], qos);
	set_nice(-20);
	double t_last, t_start = mono();
	long sent = write_edges(a[0], atof(a[2]), atof(a[3]), &level, &t_last);
	set_nice(0);
	long at_end = c.n, seen = -1;
	/* settled: no message for 1.5 s (30 s at most) */
	double dl = mono() + 30000;
	while (mono() < dl) {
		seen = c.n;
		sleep_ms(1500);
		if (c.n == seen) break;
	}
	pthread_mutex_lock(&c.lock);
	double settle = c.n > 0 ? c.last_t - t_last : -1;
	printf("{\"sent\":%ld,\"rate\":%.0f,\"received\":%ld,\"backlog_at_end\":%ld,\"settle_ms\":%.1f,"
	       "\"last_payload\":\"%s\",\"final_level\":%d,\"final_ok\":%s,\"still_arriving\":%s}\n",
	       sent, sent * 1e3 / (t_last - t_start), c.n, sent - at_end, settle, c.last_payload, level,
	       c.last_level == level ? "true" : "false", c.n != seen ? "true" : "false");
	pthread_mutex_unlock(&c.lock);
	client_close(&c);
	return 0;
}

static int mode_count(char **a, int argn)
{
	struct client c;
	long n = atol(a[1]);
	client_open(&c, a[0], atoi(a[2]));
	if (argn > 5) {
		pthread_mutex_lock(&c.lock);
		snprintf(c.until, sizeof(c.until), "\"seq\":%s}", a[5]);
		pthread_mutex_unlock(&c.lock);
	}
	FILE *f = fopen(a[4], "w");
	if (f) fclose(f);
	double dl = mono() + atof(a[3]);
	long got = 0;
	bool done = false;
	while (got < n && !done && mono() < dl) {
		got = client_wait_count(&c, got, 100);
		pthread_mutex_lock(&c.lock);
		done = c.until_seen;
		pthread_mutex_unlock(&c.lock);
	}
	sleep_ms(200);
	pthread_mutex_lock(&c.lock);
	printf("{\"received\":%ld,\"first_rt_ms\":%.3f,\"last_rt_ms\":%.3f,\"until_seen\":%s}\n", c.n,
	       c.first_rt, c.last_rt, c.until_seen ? "true" : "false");
	pthread_mutex_unlock(&c.lock);
	client_close(&c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int args; } modes[] = {
		{ "floor-edge", 4 }, { "floor-set", 4 }, { "floor-sweep", 5 }, { "broker", 3 },
		{ "edge", 4 }, { "cmd", 4 }, { "glitch", 4 }, { "sweep", 5 }, { "count", 5 },
	};
	srand((unsigned int)getpid());
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(argv[1], modes[i].name)) continue;
		if (argc - 2 < modes[i].args) break;
		char **a = argv + 2;
		int n = argc - 2;
		switch (i) {
		case 0: return mode_floor_edge(a);
		case 1: return mode_floor_set(a);
		case 2: return mode_floor_sweep(a);
		case 3: return mode_broker(a);
		case 4: return mode_edge(a);
		case 5: return mode_cmd(a, n);
		case 6: return mode_glitch(a, n);
		case 7: return mode_sweep(a);
		case 8: return mode_count(a, n);
		}
	}
	fprintf(stderr, "usage: see the header of tests/bench/g2m-bench.c\n");
	return 2;
}
