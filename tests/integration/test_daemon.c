/* SPDX-License-Identifier: MIT */
/* Integration tests: the real daemon (gpio2mqtt-test: main.c + the core library, GPIO replaced by
 * gpio_double.c) against a real mosquitto on 127.0.0.1. Each scenario runs in its own temporary
 * directory with its own broker on its own free port, so scenarios run in parallel. TAP output.
 *
 *   test-daemon SCENARIO DAEMON MOSQUITTO
 *
 * An MQTT v5 "watcher" client subscribes to <base>/# with retain-as-published, so the retain flag
 * the daemon set is visible on live messages too, and records every message in order. "Nothing
 * was published" is never checked by waiting: a fence (a command to another pin, whose echo is
 * awaited) is sent after the message under test; the daemon handles messages in order, so
 * anything the first one caused would have been published before the fence's echo. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000           /* a message or condition that does not come in time fails */
#define RECONNECT_TIMEOUT_MS 15000 /* broker restarts: daemon backoff is at most 1 s here */
#define EXIT_TIMEOUT_MS 5000
#define LOG_TIMEOUT_MS 2000 /* a log line due before an already received message */
#define PATH_LEN 512

/* ---------------------------------------------------------------------------------------------
 * TAP */

static unsigned int tap_count, tap_failed;

static bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool check(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %u - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("#   ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A payload for humans: printable ASCII as is, the rest as \xNN, long ones cut. */
static const char *show(const char *p, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	if (!p)
		return "(none)";
	buf[o++] = '"';
	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)p[i];

		if (i == 40 && len > 48) {
			o += (size_t)snprintf(buf + o, size - o, "...(%zu bytes)", len);
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Time, files */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The whole file, NUL-terminated, or NULL when it cannot be read. *LEN gets its size. */
static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (cap - n < 4096) {
			char *nb = realloc(buf, cap + 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 8192;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static bool file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

static int rmtree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void rmtree(const char *path)
{
	nftw(path, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---------------------------------------------------------------------------------------------
 * The test's world: one temporary directory, one broker, one daemon. */

static struct {
	const char *scenario;
	const char *daemon_path;
	const char *mosquitto_path;
	char tmp[PATH_LEN];
	char gpio_dir[PATH_LEN];
	char config[PATH_LEN];
	char daemon_out[PATH_LEN];
	char daemon_err[PATH_LEN];
	char broker_log[PATH_LEN];
	char base[128];
	int port;
	int fifo;
	int daemon_runs;
	bool accept_retained; /* mqtt.accept_retained_commands in the good config */
	volatile pid_t broker;
	volatile pid_t daemon;
} T = { .fifo = -1 };

static sigset_t fatal_signals;

static void children_kill(void)
{
	if (T.daemon > 0)
		kill(T.daemon, SIGKILL);
	if (T.broker > 0)
		kill(T.broker, SIGKILL);
}

/* Signals are blocked in every thread; this one waits for them, so the clean-up runs in an
 * ordinary context (meson's timeout sends SIGTERM). */
static void *signal_thread(void *arg)
{
	int sig = 0;

	sigwait(&fatal_signals, &sig);
	children_kill();
	printf("Bail out! killed by signal %d\n", sig);
	fflush(stdout);
	if (T.tmp[0] && !getenv("GPIO2MQTT_TEST_KEEP"))
		rmtree(T.tmp);
	_exit(99);
	return NULL;
}

static void path_in(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_LEN, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_LEN)
		abort(); /* TMPDIR absurdly long */
}

static void gpio_path(char *buf, const char *name)
{
	path_in(buf, T.gpio_dir, name);
}

extern char **environ;

/* The environment for a child, built before fork (the child of a threaded process should call
 * nothing but async-signal-safe functions): ours without the systemd variables, which would
 * change how the daemon logs and notifies, and with or without the GPIO double's directory. */
static char **child_env(bool gpio_env)
{
	static const char *const drop[] = { "JOURNAL_STREAM=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
					    "WATCHDOG_PID=", "LISTEN_FDS=", "LISTEN_PID=",
					    "GPIO2MQTT_TEST_GPIO_DIR=" };
	static char gpio_var[PATH_LEN + 32];
	size_t n = 0, o = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		abort();
	for (size_t i = 0; i < n; i++) {
		bool keep = true;

		for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
			if (strncmp(environ[i], drop[d], strlen(drop[d])) == 0)
				keep = false;
		if (keep)
			env[o++] = environ[i];
	}
	if (gpio_env) {
		snprintf(gpio_var, sizeof(gpio_var), "GPIO2MQTT_TEST_GPIO_DIR=%s", T.gpio_dir);
		env[o++] = gpio_var;
	}
	env[o] = NULL;
	return env;
}

/* fork + exec with stdout/stderr into files, stdin /dev/null, signals reset, and a parent-death
 * signal so nothing outlives the test. */
static pid_t spawn(char *const argv[], const char *out_path, const char *err_path, bool gpio_env)
{
	char **env = child_env(gpio_env);
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;
		int in, out, err;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		in = open("/dev/null", O_RDONLY);
		out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0 || err < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	return pid < 0 ? -1 : pid;
}

/* Waits up to TIMEOUT_MS for PID to exit; true and *STATUS when it did. */
static bool child_wait(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
		if (now_ms() >= deadline)
			return false;
		pause_ms(10);
	}
}

static bool child_alive(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == 0;
}

static void child_kill(volatile pid_t *pid, int sig)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	if (!child_wait(*pid, EXIT_TIMEOUT_MS, &status)) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &status, 0);
	}
	*pid = 0;
}

static const char *status_str(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "wait status 0x%x", status);
	return buf;
}

/* ---------------------------------------------------------------------------------------------
 * The broker */

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static bool port_accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static bool broker_start(void)
{
	char conf[PATH_LEN], text[512];
	char *argv[] = { (char *)T.mosquitto_path, (char *)"-c", conf, NULL };
	int64_t deadline;
	int status;

	path_in(conf, T.tmp, "mosquitto.conf");
	snprintf(text, sizeof(text),
		 "listener %d 127.0.0.1\n"
		 "allow_anonymous true\n"
		 "persistence false\n"
		 "user root\n"
		 "log_dest stderr\n"
		 "log_type all\n",
		 T.port);
	if (!file_write(conf, text))
		return false;
	T.broker = spawn(argv, T.broker_log, T.broker_log, false);
	if (T.broker < 0)
		return false;
	deadline = now_ms() + TIMEOUT_MS;
	while (now_ms() < deadline) {
		if (!child_alive(T.broker, &status)) {
			char buf[64];

			diag("mosquitto on port %d: %s (see below)", T.port,
			     status_str(status, buf, sizeof(buf)));
			T.broker = 0;
			return false;
		}
		if (port_accepts(T.port))
			return true;
		pause_ms(20);
	}
	diag("mosquitto does not accept connections on port %d", T.port);
	return false;
}

/* ---------------------------------------------------------------------------------------------
 * The watcher: an MQTT v5 client recording every message under <base>/# in order. */

struct msg {
	char *topic;
	char *payload; /* NUL-terminated copy */
	size_t len;
	bool retain;
};

static struct {
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct msg *msgs;
	size_t n, cap;
	unsigned int subacks;
	int acked[64]; /* ring of mids acknowledged (PUBACK) */
	unsigned int n_acked;
	char sub[160];
} W = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void watch_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
			     const mosquitto_property *props)
{
	if (rc == 0)
		mosquitto_subscribe_v5(mosq, NULL, W.sub, 1, MQTT_SUB_OPT_RETAIN_AS_PUBLISHED, NULL);
}

static void watch_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			       const int *granted, const mosquitto_property *props)
{
	pthread_mutex_lock(&W.lock);
	W.subacks++;
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

static void watch_on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
			     const mosquitto_property *props)
{
	pthread_mutex_lock(&W.lock);
	W.acked[W.n_acked++ % 64] = mid;
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

static void watch_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
			     const mosquitto_property *props)
{
	struct msg msg = { 0 };

	msg.topic = strdup(m->topic);
	msg.len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	msg.payload = malloc(msg.len + 1);
	if (!msg.topic || !msg.payload)
		abort();
	if (msg.len)
		memcpy(msg.payload, m->payload, msg.len);
	msg.payload[msg.len] = '\0';
	msg.retain = m->retain;

	pthread_mutex_lock(&W.lock);
	if (W.n == W.cap) {
		size_t cap = W.cap ? W.cap * 2 : 256;
		struct msg *nm = realloc(W.msgs, cap * sizeof(*nm));

		if (!nm)
			abort();
		W.msgs = nm;
		W.cap = cap;
	}
	W.msgs[W.n++] = msg;
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

/* Waits on the watcher's condition until DEADLINE (monotonic ms); false on timeout. */
static bool watch_wait_locked(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	struct timespec ts;

	if (left <= 0)
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (left > 100)
		left = 100; /* wake up now and then whatever happens */
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (long)(left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&W.cond, &W.lock, &ts);
	return true;
}

static unsigned int watch_subacks(void)
{
	unsigned int n;

	pthread_mutex_lock(&W.lock);
	n = W.subacks;
	pthread_mutex_unlock(&W.lock);
	return n;
}

static bool watch_wait_subacks(unsigned int want, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool ok;

	pthread_mutex_lock(&W.lock);
	while (W.subacks < want && watch_wait_locked(deadline))
		;
	ok = W.subacks >= want;
	pthread_mutex_unlock(&W.lock);
	return ok;
}

static bool watch_start(void)
{
	char id[64];
	int rc;

	snprintf(W.sub, sizeof(W.sub), "%s/#", T.base);
	snprintf(id, sizeof(id), "g2m-watch-%ld", (long)getpid());
	W.mosq = mosquitto_new(id, true, NULL);
	if (!W.mosq)
		return false;
	mosquitto_int_option(W.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(W.mosq, watch_on_connect);
	mosquitto_subscribe_v5_callback_set(W.mosq, watch_on_subscribe);
	mosquitto_publish_v5_callback_set(W.mosq, watch_on_publish);
	mosquitto_message_v5_callback_set(W.mosq, watch_on_message);
	mosquitto_reconnect_delay_set(W.mosq, 1, 1, false);
	rc = mosquitto_connect(W.mosq, "127.0.0.1", T.port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		diag("watcher: connect to 127.0.0.1:%d: %s", T.port, mosquitto_strerror(rc));
		return false;
	}
	rc = mosquitto_loop_start(W.mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		diag("watcher: loop_start: %s", mosquitto_strerror(rc));
		return false;
	}
	if (!watch_wait_subacks(1, TIMEOUT_MS)) {
		diag("watcher: no SUBACK for %s", W.sub);
		return false;
	}
	return true;
}

static void watch_stop(void)
{
	if (!W.mosq)
		return;
	mosquitto_disconnect(W.mosq);
	mosquitto_loop_stop(W.mosq, true);
	mosquitto_destroy(W.mosq);
	W.mosq = NULL;
	for (size_t i = 0; i < W.n; i++) {
		free(W.msgs[i].topic);
		free(W.msgs[i].payload);
	}
	free(W.msgs);
	W.msgs = NULL;
	W.n = W.cap = 0;
}

/* The index the next message will get: a cursor meaning "from now on". */
static size_t watch_mark(void)
{
	size_t n;

	pthread_mutex_lock(&W.lock);
	n = W.n;
	pthread_mutex_unlock(&W.lock);
	return n;
}

static void topic_of(char *buf, size_t size, const char *pin)
{
	snprintf(buf, size, "%s/%s", T.base, pin ? pin : "status");
}

/* The next message on TOPIC at or after *CURSOR, waiting up to TIMEOUT_MS. On success *OUT is a
 * copy (its strings stay valid until watch_stop) and *CURSOR moves past it. */
static bool watch_next(size_t *cursor, const char *topic, int timeout_ms, struct msg *out)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool found = false;

	pthread_mutex_lock(&W.lock);
	for (;;) {
		for (size_t i = *cursor; i < W.n; i++) {
			if (strcmp(W.msgs[i].topic, topic) == 0) {
				*out = W.msgs[i];
				*cursor = i + 1;
				found = true;
				break;
			}
		}
		if (found || !watch_wait_locked(deadline))
			break;
	}
	pthread_mutex_unlock(&W.lock);
	return found;
}

/* Index of the first message at or after FROM on TOPIC with PAYLOAD, or -1 (no waiting). */
static long watch_find(size_t from, size_t to, const char *topic, const char *payload)
{
	long idx = -1;

	pthread_mutex_lock(&W.lock);
	for (size_t i = from; i < W.n && i < to; i++) {
		if (strcmp(W.msgs[i].topic, topic) == 0 &&
		    (!payload || strcmp(W.msgs[i].payload, payload) == 0)) {
			idx = (long)i;
			break;
		}
	}
	pthread_mutex_unlock(&W.lock);
	return idx;
}

/* Lists the messages in [FROM, TO) on topics starting with PREFIX as diagnostics. */
static void watch_dump(size_t from, size_t to, const char *prefix)
{
	char buf[160];
	unsigned int shown = 0;

	pthread_mutex_lock(&W.lock);
	if (to > W.n)
		to = W.n;
	for (size_t i = from; i < to; i++) {
		if (prefix && strncmp(W.msgs[i].topic, prefix, strlen(prefix)) != 0)
			continue;
		if (shown++ == 40) {
			diag("  ...");
			break;
		}
		diag("  seen: %s %s%s", W.msgs[i].topic,
		     show(W.msgs[i].payload, W.msgs[i].len, buf, sizeof(buf)),
		     W.msgs[i].retain ? " (retained)" : "");
	}
	if (shown == 0)
		diag("  seen: nothing");
	pthread_mutex_unlock(&W.lock);
}

/* Checks that the next message on <base>/PIN (PIN NULL: <base>/status) after *CURSOR is
 * PAYLOAD with the retain flag RETAIN. */
static bool expect_msg(size_t *cursor, const char *pin, const char *payload, bool retain,
		       int timeout_ms, const char *why)
{
	char topic[256], buf[160];
	struct msg m;
	size_t from = *cursor;
	bool ok;

	topic_of(topic, sizeof(topic), pin);
	if (!watch_next(cursor, topic, timeout_ms, &m)) {
		check(false, "%s: %s \"%s\"%s", why, topic, payload, retain ? " retained" : "");
		diag("no message on %s within %d ms; messages since:", topic, timeout_ms);
		watch_dump(from, SIZE_MAX, NULL);
		return false;
	}
	ok = strcmp(m.payload, payload) == 0 && m.len == strlen(payload) && m.retain == retain;
	check(ok, "%s: %s \"%s\"%s", why, topic, payload, retain ? " retained" : "");
	if (!ok) {
		diag("got:  %s%s", show(m.payload, m.len, buf, sizeof(buf)),
		     m.retain ? " retained" : " not retained");
		diag("want: \"%s\"%s", payload, retain ? " retained" : " not retained");
	}
	return ok;
}

/* Publishes with QoS 1 and waits for the broker's PUBACK. */
static bool pub(const char *pin_topic, const void *payload, size_t len, bool retain)
{
	char topic[256];
	int mid = 0, rc;
	int64_t deadline;
	bool acked = false;

	snprintf(topic, sizeof(topic), "%s/%s", T.base, pin_topic);
	rc = mosquitto_publish_v5(W.mosq, &mid, topic, (int)len, payload, 1, retain, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		check(false, "publish %s", topic);
		diag("mosquitto_publish: %s", mosquitto_strerror(rc));
		return false;
	}
	deadline = now_ms() + TIMEOUT_MS;
	pthread_mutex_lock(&W.lock);
	do {
		for (unsigned int i = 0; i < 64 && i < W.n_acked; i++)
			if (W.acked[i] == mid)
				acked = true;
	} while (!acked && watch_wait_locked(deadline));
	pthread_mutex_unlock(&W.lock);
	if (!acked) {
		check(false, "publish %s: PUBACK", topic);
		return false;
	}
	return true;
}

static bool pub_str(const char *pin_topic, const char *payload, bool retain)
{
	return pub(pin_topic, payload, strlen(payload), retain);
}

/* ---------------------------------------------------------------------------------------------
 * A fresh subscriber: what is retained on the broker right now. */

struct fresh {
	bool connected, subscribed, got;
	char payload[256];
	bool retain;
};

static void fresh_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	((struct fresh *)obj)->connected = rc == 0;
}

static void fresh_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *q)
{
	((struct fresh *)obj)->subscribed = true;
}

static void fresh_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct fresh *f = obj;
	size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;

	if (f->got)
		return;
	if (len >= sizeof(f->payload))
		len = sizeof(f->payload) - 1;
	if (len)
		memcpy(f->payload, m->payload, len);
	f->payload[len] = '\0';
	f->retain = m->retain;
	f->got = true;
}

/* The retained message on <base>/PIN, by subscribing with a new client: true when one came
 * within TIMEOUT_MS (retained messages come right after the SUBACK). */
static bool retained_get(const char *pin, char *out, size_t size, int timeout_ms)
{
	struct fresh f = { 0 };
	struct mosquitto *mosq;
	char topic[256], id[64];
	int64_t deadline = now_ms() + timeout_ms;
	bool ok = false;
	static unsigned int seq;

	topic_of(topic, sizeof(topic), pin);
	snprintf(id, sizeof(id), "g2m-fresh-%ld-%u", (long)getpid(), seq++);
	mosq = mosquitto_new(id, true, &f);
	if (!mosq)
		return false;
	mosquitto_connect_callback_set(mosq, fresh_on_connect);
	mosquitto_subscribe_callback_set(mosq, fresh_on_subscribe);
	mosquitto_message_callback_set(mosq, fresh_on_message);
	if (mosquitto_connect(mosq, "127.0.0.1", T.port, 30) != MOSQ_ERR_SUCCESS)
		goto out;
	while (!f.connected && now_ms() < deadline)
		if (mosquitto_loop(mosq, 50, 1) != MOSQ_ERR_SUCCESS)
			goto out;
	if (!f.connected || mosquitto_subscribe(mosq, NULL, topic, 1) != MOSQ_ERR_SUCCESS)
		goto out;
	while (!f.got && now_ms() < deadline)
		if (mosquitto_loop(mosq, 50, 1) != MOSQ_ERR_SUCCESS)
			goto out;
	if (f.got && f.retain) {
		snprintf(out, size, "%s", f.payload);
		ok = true;
	}
out:
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	return ok;
}

static bool expect_retained(const char *pin, const char *payload, const char *why)
{
	char got[256] = "", topic[256];
	bool have = retained_get(pin, got, sizeof(got), TIMEOUT_MS);
	bool ok = have && strcmp(got, payload) == 0;

	topic_of(topic, sizeof(topic), pin);
	check(ok, "%s: retained on the broker: %s \"%s\"", why, topic, payload);
	if (!have)
		diag("a new subscriber to %s got no retained message within %d ms", topic,
		     TIMEOUT_MS);
	else if (!ok)
		diag("retained: \"%s\", want \"%s\"", got, payload);
	return ok;
}

/* ---------------------------------------------------------------------------------------------
 * The GPIO double's files */

static bool gpio_input(const char *lines)
{
	size_t len = strlen(lines);
	ssize_t n = write(T.fifo, lines, len); /* < PIPE_BUF: atomic */

	if (n != (ssize_t)len) {
		check(false, "write to the GPIO double's input FIFO");
		diag("write: %s", n < 0 ? strerror(errno) : "short");
		return false;
	}
	return true;
}

/* The levels the double saw for output PIN, in order, consecutive repeats merged: "0 1 0". A
 * repeated gpio_set() of the same level is not a level change; *SETS counts every call. */
static void output_changes(const char *pin, char *buf, size_t size, unsigned int *sets)
{
	char path[PATH_LEN];
	char *log, *save = NULL, *line;
	int last = -1;
	size_t o = 0;

	buf[0] = '\0';
	if (sets)
		*sets = 0;
	gpio_path(path, "outputs.log");
	log = file_read(path, NULL);
	if (!log)
		return;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[80];
		int level;

		if (sscanf(line, "%79s %d", name, &level) != 2 || strcmp(name, pin) != 0)
			continue;
		if (sets)
			(*sets)++;
		if (level == last)
			continue;
		last = level;
		o += (size_t)snprintf(buf + o, size - o, "%s%d", o ? " " : "", level);
		if (o >= size)
			break;
	}
	free(log);
}

static bool expect_output(const char *pin, const char *changes, const char *why)
{
	char got[1024];
	bool ok;

	output_changes(pin, got, sizeof(got), NULL);
	ok = strcmp(got, changes) == 0;
	check(ok, "%s: output '%s' levels in the GPIO double: %s", why, pin, changes);
	if (!ok)
		diag("got levels: \"%s\"", got);
	return ok;
}

/* Waits until file NAME in the GPIO double's directory contains NEEDLE. */
static bool gpio_wait_file(const char *name, const char *needle, int timeout_ms)
{
	char path[PATH_LEN];
	int64_t deadline = now_ms() + timeout_ms;

	gpio_path(path, name);
	for (;;) {
		char *text = file_read(path, NULL);
		bool found = text && strstr(text, needle);

		free(text);
		if (found)
			return true;
		if (now_ms() >= deadline)
			return false;
		pause_ms(10);
	}
}

/* The last level the double reported for input PIN (from events.log), or the initial level. */
static int gpio_input_level(const char *pin, int initial)
{
	char path[PATH_LEN], *log, *save = NULL, *line;
	int level = initial;

	gpio_path(path, "events.log");
	log = file_read(path, NULL);
	if (!log)
		return level;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[80];
		int l;

		if (sscanf(line, "%79s %d", name, &l) == 2 && strcmp(name, pin) == 0)
			level = l;
	}
	free(log);
	return level;
}

/* ---------------------------------------------------------------------------------------------
 * The daemon */

static const char good_config_fmt[] =
	"# gpio2mqtt integration test configuration\n"
	"mqtt = {\n"
	"  brokers = ( { host = \"127.0.0.1\"; port = %d; } );\n"
	"  client_id = \"gpio2mqtt-int-%s-%ld\";\n"
	"  base_topic = \"%s\";\n"
	"  protocol = \"v5\";\n"
	"  keepalive = 5;\n"
	"  qos = 1;\n"
	"  retain = true;\n"
	"  reconnect_min_ms = 200;\n"
	"  reconnect_max_ms = 1000;\n"
	"  accept_retained_commands = %s;\n"
	"};\n"
	"inputs = (\n"
	"  { name = \"button\"; line = \"GPIO17\"; bias = \"pull-up\"; active_low = true; "
	"debounce_ms = 20; },\n"
	"  { name = \"door\"; chip = \"gpiochip0\"; offset = 3; }\n"
	");\n"
	"outputs = (\n"
	"  { name = \"relay\"; line = \"GPIO27\"; %s = \"off\"; },\n"
	"  { name = \"lamp\"; line = \"GPIO22\"; drive = \"open-drain\"; %s = \"on\"; },\n"
	"  { name = \"buzzer\"; line = \"GPIO23\"; retain = false; qos = 0; }\n"
	");\n"
	"state_dir = \"%s\";\n";

/* What gpio_open must be asked for with the config above (the double's "requested" file). */
static const char *const requested_lines[] = {
	"consumer gpio2mqtt\n",
	"button input line=GPIO17 bias=pull-up active_low=1 debounce_ms=20\n",
	"door input line=gpiochip0:3 bias=as-is active_low=0 debounce_ms=0\n",
	"relay output line=GPIO27 bias=as-is active_low=0 drive=push-pull initial=0\n",
	"lamp output line=GPIO22 bias=as-is active_low=0 drive=open-drain initial=1\n",
	"buzzer output line=GPIO23 bias=as-is active_low=0 drive=push-pull initial=0\n",
};

/* Pins and their states right after start (door starts active through the double's "initial"
 * file); buzzer is published with retain = false. */
static const struct {
	const char *pin;
	const char *state;
	bool retain;
} start_states[] = {
	{ "button", "OFF", true },
	{ "door", "ON", true },
	{ "relay", "OFF", true },
	{ "lamp", "ON", true },
	{ "buzzer", "OFF", false },
};

#define N_START_STATES (sizeof(start_states) / sizeof(start_states[0]))

/* The key of an output's level at start (it was "initial" before power_on's "restore"). */
#define INITIAL_KEY "power_on"

static bool write_config_key(const char *path, const char *initial_key)
{
	char text[2048];

	snprintf(text, sizeof(text), good_config_fmt, T.port, T.scenario, (long)getpid(), T.base,
		 T.accept_retained ? "true" : "false", initial_key, initial_key, T.tmp);
	return file_write(path, text);
}

static bool write_good_config(const char *path)
{
	return write_config_key(path, INITIAL_KEY);
}

static bool daemon_spawn(const char *const extra[], bool gpio_env)
{
	char name[64];
	char *argv[12];
	size_t n = 0;

	T.daemon_runs++;
	snprintf(name, sizeof(name), "daemon-%d.stdout", T.daemon_runs);
	path_in(T.daemon_out, T.tmp, name);
	snprintf(name, sizeof(name), "daemon-%d.stderr", T.daemon_runs);
	path_in(T.daemon_err, T.tmp, name);
	argv[n++] = (char *)T.daemon_path;
	for (; extra && *extra && n < 10; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	T.daemon = spawn(argv, T.daemon_out, T.daemon_err, gpio_env);
	return T.daemon > 0;
}

/* Starts the daemon on the good config, with debug logging for the diagnostics. */
static bool daemon_start(void)
{
	const char *const args[] = { "-d", "-c", T.config, NULL };

	return check(daemon_spawn(args, true), "start %s", T.daemon_path);
}

/* Runs the daemon to completion: true when it exited within the time, *STATUS its status. */
static bool daemon_run(const char *const args[], bool gpio_env, int *status)
{
	if (!daemon_spawn(args, gpio_env))
		return false;
	if (!child_wait(T.daemon, EXIT_TIMEOUT_MS, status)) {
		diag("the daemon did not exit within %d ms; killed", EXIT_TIMEOUT_MS);
		child_kill(&T.daemon, SIGKILL);
		return false;
	}
	T.daemon = 0;
	return true;
}

static bool expect_alive(const char *why)
{
	int status;
	char buf[64];

	if (T.daemon > 0 && child_alive(T.daemon, &status))
		return check(true, "%s: the daemon is running", why);
	check(false, "%s: the daemon is running", why);
	if (T.daemon > 0) {
		diag("it ended: %s", status_str(status, buf, sizeof(buf)));
		T.daemon = 0;
	}
	return false;
}

/* Looks for one line of the daemon's stderr, from byte FROM on, containing every one of NEEDLES
 * (NULL-terminated); waits up to TIMEOUT_MS for it. A needle "#N" matches the number N as a whole
 * word. */
static bool stderr_has_line(off_t from, const char *const needles[], int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		size_t len = 0;
		char *text = file_read(T.daemon_err, &len);
		bool found = false;

		if (text && (size_t)from < len) {
			char *save = NULL;

			for (char *line = strtok_r(text + from, "\n", &save); line && !found;
			     line = strtok_r(NULL, "\n", &save)) {
				bool all = true;

				for (const char *const *nd = needles; *nd && all; nd++) {
					if ((*nd)[0] == '#') {
						const char *num = *nd + 1, *p = line;
						size_t nl = strlen(num);
						bool word = false;

						while ((p = strstr(p, num))) {
							bool before = p == line || (p[-1] < '0' || p[-1] > '9');
							bool after = p[nl] < '0' || p[nl] > '9';

							if (before && after) {
								word = true;
								break;
							}
							p++;
						}
						all = word;
					} else {
						all = strstr(line, *nd) != NULL;
					}
				}
				found = all;
			}
		}
		free(text);
		if (found)
			return true;
		if (now_ms() >= deadline)
			return false;
		pause_ms(20);
	}
}

static void dump_file(const char *title, const char *path, unsigned int max_lines)
{
	char *text = file_read(path, NULL), *save = NULL;
	unsigned int total = 0, skip, i = 0;

	if (!text) {
		diag("%s: (no file)", title);
		return;
	}
	for (char *p = text; *p; p++)
		total += *p == '\n';
	skip = total > max_lines ? total - max_lines : 0;
	diag("%s (%u lines%s):", title, total, skip ? ", the last ones" : "");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (i++ >= skip)
			diag("  | %s", line);
	free(text);
}

/* ---------------------------------------------------------------------------------------------
 * Common set-up */

static bool setup_dirs(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char path[PATH_LEN];

	snprintf(T.tmp, sizeof(T.tmp), "%s/g2m-int-%s-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp",
		 T.scenario);
	if (!mkdtemp(T.tmp)) {
		T.tmp[0] = '\0';
		return check(false, "create a temporary directory");
	}
	path_in(T.gpio_dir, T.tmp, "gpio");
	path_in(T.config, T.tmp, "gpio2mqtt.conf");
	path_in(T.broker_log, T.tmp, "mosquitto.log");
	snprintf(T.base, sizeof(T.base), "g2m-int/%s", T.scenario);
	if (mkdir(T.gpio_dir, 0755) < 0)
		return check(false, "mkdir %s", T.gpio_dir);
	gpio_path(path, "input");
	if (mkfifo(path, 0600) < 0)
		return check(false, "mkfifo %s", path);
	/* Read-write: never blocks, and what is written waits in the pipe for the daemon. */
	T.fifo = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (T.fifo < 0)
		return check(false, "open %s", path);
	gpio_path(path, "initial");
	if (!file_write(path, "door 1\n"))
		return check(false, "write %s", path);
	T.port = free_port();
	if (T.port <= 0)
		return check(false, "find a free port");
	return write_good_config(T.config);
}

/* Directories, a broker, the watcher. */
static bool setup_broker(void)
{
	bool started = false;

	if (!setup_dirs())
		return false;
	/* The free port may be taken again before mosquitto binds it: then try another. */
	for (int attempt = 0; attempt < 3 && !started; attempt++) {
		if (attempt > 0) {
			diag("retrying with another port");
			T.port = free_port();
			if (T.port <= 0 || !write_good_config(T.config))
				break;
		}
		started = broker_start();
	}
	if (!check(started, "mosquitto starts on 127.0.0.1:%d", T.port))
		return false;
	return check(watch_start(), "watcher subscribed to %s/#", T.base);
}

/* Waits for the start-up publishes from cursor *C: status online and every pin's state; moves
 * *C past the last of them. */
static bool expect_start(size_t *c, const char *why, int timeout_ms)
{
	size_t from = *c, last = from;
	bool ok = expect_msg(&last, NULL, "online", true, timeout_ms, why);

	if (!ok)
		return false; /* not connected: the states would only time out one by one */
	for (size_t i = 0; i < N_START_STATES; i++) {
		size_t pc = from;

		ok &= expect_msg(&pc, start_states[i].pin, start_states[i].state,
				 start_states[i].retain, timeout_ms, why);
		if (pc > last)
			last = pc;
	}
	*c = last;
	return ok;
}

/* ---------------------------------------------------------------------------------------------
 * Scenarios */

static void scenario_startup(void)
{
	char path[PATH_LEN], *req;
	size_t c, status_c;

	if (!setup_broker())
		return;
	/* Commands left retained on the broker by someone else: must not be acted on. */
	if (!pub_str("relay/set", "ON", true) || !pub_str("lamp/set", "OFF", true))
		return;
	c = watch_mark();
	if (!daemon_start())
		return;

	gpio_path(path, "requested");
	check(gpio_wait_file("requested", "consumer", TIMEOUT_MS),
	      "the daemon requests its GPIO lines (gpio_open)");
	req = file_read(path, NULL);
	for (size_t i = 0; i < sizeof(requested_lines) / sizeof(requested_lines[0]); i++) {
		bool ok = req && strstr(req, requested_lines[i]);
		char want[256];

		snprintf(want, sizeof(want), "%s", requested_lines[i]);
		want[strcspn(want, "\n")] = '\0';
		check(ok, "gpio_open request from the config: %s", want);
	}
	if (req && tap_failed)
		dump_file("requested", path, 20);
	free(req);

	status_c = c;
	expect_msg(&status_c, NULL, "online", true, TIMEOUT_MS, "at start");
	for (size_t i = 0; i < N_START_STATES; i++) {
		size_t pc = c;
		char topic[256];
		long first;

		expect_msg(&pc, start_states[i].pin, start_states[i].state,
				  start_states[i].retain, TIMEOUT_MS, "at start");
		topic_of(topic, sizeof(topic), start_states[i].pin);
		first = watch_find(c, SIZE_MAX, topic, NULL);
		check(first >= 0 && (size_t)first >= status_c,
		      "at start: %s published after \"online\"", topic);
	}

	/* Fences: a live command to each output; its echo must be the next state message, and the
	 * level must still be the initial one. */
	{
		size_t rc = c, lc = c;

		pub_str("relay/set", "OFF", false);
		pub_str("lamp/set", "ON", false);
		expect_msg(&rc, "relay", "OFF", true, TIMEOUT_MS, "at start (initial state)");
		expect_msg(&rc, "relay", "OFF", true, TIMEOUT_MS,
			   "retained relay/set ON ignored: next relay state is the live OFF's echo");
		expect_msg(&lc, "lamp", "ON", true, TIMEOUT_MS, "at start (initial state)");
		expect_msg(&lc, "lamp", "ON", true, TIMEOUT_MS,
			   "retained lamp/set OFF ignored: next lamp state is the live ON's echo");
	}
	expect_output("relay", "0", "retained relay/set ON not acted on");
	expect_output("lamp", "1", "retained lamp/set OFF not acted on");
	expect_output("buzzer", "0", "initial level from the config");

	expect_retained(NULL, "online", "at start");
	expect_retained("button", "OFF", "at start");
	expect_retained("door", "ON", "at start (input initially active in the double)");
	expect_retained("relay", "OFF", "at start");
	expect_retained("lamp", "ON", "at start");
	expect_alive("after start-up");
}

static void scenario_inputs(void)
{
	size_t c, fence_c, from;
	long end;
	char topic[256];
	off_t mark;

	if (!setup_broker() || !daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;

	c = watch_mark();
	gpio_input("button 1\n");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "edge button 1");
	gpio_input("button 0\n");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "edge button 0");
	gpio_input("door 0\n");
	expect_msg(&c, "door", "OFF", true, TIMEOUT_MS, "edge door 0");
	gpio_input("door 1\n");
	expect_msg(&c, "door", "ON", true, TIMEOUT_MS, "edge door 1");

	/* A burst in one read: one message per edge, in order, nothing more. */
	from = c = watch_mark();
	gpio_input("button 1\nbutton 0\nbutton 1\ndoor 0\n");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "burst edge 1 of 3");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "burst edge 2 of 3");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "burst edge 3 of 3");
	fence_c = from;
	expect_msg(&fence_c, "door", "OFF", true, TIMEOUT_MS, "burst: door edge after the button's");
	pub_str("relay/set", "OFF", false);
	fence_c = from;
	if (expect_msg(&fence_c, "relay", "OFF", true, TIMEOUT_MS, "fence after the burst")) {
		unsigned int n = 0;

		topic_of(topic, sizeof(topic), "button");
		end = (long)fence_c;
		for (size_t i = from; (long)i < end;) {
			long idx = watch_find(i, (size_t)end, topic, NULL);

			if (idx < 0)
				break;
			n++;
			i = (size_t)idx + 1;
		}
		check(n == 3, "burst: exactly 3 button messages for 3 edges");
		if (n != 3) {
			diag("got %u:", n);
			watch_dump(from, (size_t)end, topic);
		}
	}

	/* Lost edges reported by the kernel: a warning with the count, and the state follows. */
	mark = file_size(T.daemon_err);
	c = watch_mark();
	gpio_input("button 0 lost=3\n");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "edge after 3 lost edges");
	{
		const char *const needles[] = { "button", "#3", NULL };

		check(stderr_has_line(mark, needles, TIMEOUT_MS),
		      "3 lost edges on 'button': a log line naming the pin and the count 3");
	}
	{
		const char *const needles[] = { "warning", "button", NULL };

		check(stderr_has_line(mark, needles, TIMEOUT_MS),
		      "lost edges on 'button': logged as a warning");
	}

	/* More lost than reported: the double reads the line afterwards and reports its real
	 * level, so the published state ends at the line's level. */
	c = watch_mark();
	gpio_input("button 1 lost=2 now=0\n");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "edge after 2 lost edges");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "then the line's real level");
	check(gpio_input_level("button", 0) == 0, "the double's button level is 0");
	expect_retained("button", "OFF", "after lost edges: retained state = the line's level");
	expect_retained("door", "OFF", "after the edges");
	expect_alive("after the input edges");
}

struct command {
	const char *payload;
	size_t len;
	const char *echo;
	const char *levels; /* relay's level changes so far */
};

#define CMD(p, e, l) { p, sizeof(p) - 1, e, l }

static void scenario_commands(void)
{
	static const struct command cmds[] = {
		CMD("ON", "ON", "0 1"),
		CMD("ON", "ON", "0 1"), /* same again: echo, no level change */
		CMD("OFF", "OFF", "0 1 0"),
		CMD("OFF", "OFF", "0 1 0"),
		CMD("TOGGLE", "ON", "0 1 0 1"),
		CMD("TOGGLE", "OFF", "0 1 0 1 0"),
		CMD("1", "ON", "0 1 0 1 0 1"),
		CMD("1", "ON", "0 1 0 1 0 1"),
		CMD("0", "OFF", "0 1 0 1 0 1 0"),
		CMD("true", "ON", "0 1 0 1 0 1 0 1"),
		CMD("false", "OFF", "0 1 0 1 0 1 0 1 0"),
		CMD("on", "ON", "0 1 0 1 0 1 0 1 0 1"),
		CMD(" On ", "ON", "0 1 0 1 0 1 0 1 0 1"),
		CMD("off", "OFF", "0 1 0 1 0 1 0 1 0 1 0"),
		CMD("toggle", "ON", "0 1 0 1 0 1 0 1 0 1 0 1"),
		CMD("False", "OFF", "0 1 0 1 0 1 0 1 0 1 0 1 0"),
		CMD("TRUE", "ON", "0 1 0 1 0 1 0 1 0 1 0 1 0 1"),
		CMD("\tOFF\r\n", "OFF", "0 1 0 1 0 1 0 1 0 1 0 1 0 1 0"),
		CMD("ToGgLe", "ON", "0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1"),
	};
	size_t c;
	char buf[64];
	unsigned int sets;

	if (!setup_broker() || !daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char why[128];

		snprintf(why, sizeof(why), "relay/set %s",
			 show(cmds[i].payload, cmds[i].len, buf, sizeof(buf)));
		c = watch_mark();
		if (!pub("relay/set", cmds[i].payload, cmds[i].len, false))
			continue;
		expect_msg(&c, "relay", cmds[i].echo, true, TIMEOUT_MS, why);
		expect_output("relay", cmds[i].levels, why);
	}
	output_changes("relay", buf, sizeof(buf), &sets);
	if (sets > 17)
		diag("note: gpio_set was called for relay %u times for 16 level changes "
		     "(repeated commands re-set the same level; harmless)", sets - 1);

	/* Per-pin retain = false: the echo is not retained. */
	c = watch_mark();
	if (pub_str("buzzer/set", "ON", false))
		expect_msg(&c, "buzzer", "ON", false, TIMEOUT_MS, "buzzer/set ON (retain = false)");
	expect_output("buzzer", "0 1", "buzzer/set ON");
	expect_output("lamp", "1", "commands to relay and buzzer leave lamp alone");
	expect_retained("relay", "ON", "after the commands");
	expect_alive("after the commands");
}

static void scenario_bad_commands(void)
{
	static char big[1000];
	static const struct {
		const char *payload;
		size_t len;
	} garbage[] = {
		{ "BLAH", 4 }, { "", 0 }, { "ONN", 3 }, { big, sizeof(big) },
		{ "ON\0X", 4 }, { "2", 1 }, { "O N", 3 }, { "ON ON", 5 },
	};
	size_t c, from;
	char buf[64], why[160], topic[256];

	memset(big, 'X', sizeof(big));
	if (!setup_broker() || !daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;
	/* relay ON, so a payload misread as ON or OFF would both be visible as a level or echo. */
	c = watch_mark();
	pub_str("relay/set", "ON", false);
	expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "relay/set ON");

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		const char *const needles[] = { "relay", NULL };
		const char *const warn[] = { "warning", "relay", NULL };
		off_t mark = file_size(T.daemon_err);
		size_t fc;

		snprintf(why, sizeof(why), "relay/set %s",
			 show(garbage[i].payload, garbage[i].len, buf, sizeof(buf)));
		from = fc = watch_mark();
		if (!pub("relay/set", garbage[i].payload, garbage[i].len, false) ||
		    !pub_str("lamp/set", "ON", false))
			continue;
		if (!expect_msg(&fc, "lamp", "ON", true, TIMEOUT_MS, "fence: lamp/set ON echoed"))
			continue;
		topic_of(topic, sizeof(topic), "relay");
		check(watch_find(from, fc, topic, NULL) < 0, "%s: no state published", why);
		if (watch_find(from, fc, topic, NULL) >= 0)
			watch_dump(from, fc, topic);
		expect_output("relay", "0 1", why);
		check(stderr_has_line(mark, warn, LOG_TIMEOUT_MS), "%s: a warning naming the pin",
		      why);
		if (!stderr_has_line(mark, needles, 0))
			diag("no stderr line mentioning 'relay' after the command");
	}

	/* /set on an input and on an unknown name: ignored (spec: with a warning). */
	{
		static const char *const targets[] = { "button", "door", "ghost" };

		for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
			const char *const warn[] = { "warning", targets[i], NULL };
			off_t mark = file_size(T.daemon_err);
			char sub[96];
			size_t fc;

			snprintf(sub, sizeof(sub), "%s/set", targets[i]);
			snprintf(why, sizeof(why), "%s/set ON", targets[i]);
			from = fc = watch_mark();
			if (!pub_str(sub, "ON", false) || !pub_str("lamp/set", "ON", false))
				continue;
			if (!expect_msg(&fc, "lamp", "ON", true, TIMEOUT_MS,
					"fence: lamp/set ON echoed"))
				continue;
			topic_of(topic, sizeof(topic), targets[i]);
			check(watch_find(from, fc, topic, NULL) < 0, "%s: no state published on %s",
			      why, topic);
			expect_output("relay", "0 1", why);
			expect_output("lamp", "1", why);
			check(stderr_has_line(mark, warn, LOG_TIMEOUT_MS),
			      "%s: a warning naming '%s'", why, targets[i]);
		}
		check(gpio_input_level("button", 0) == 0 && gpio_input_level("door", 1) == 1,
		      "/set on inputs: the double reports no input change");
	}

	/* Still serving after all that. */
	c = watch_mark();
	pub_str("relay/set", "OFF", false);
	expect_msg(&c, "relay", "OFF", true, TIMEOUT_MS, "relay/set OFF after the bad commands");
	expect_output("relay", "0 1 0", "relay/set OFF after the bad commands");
	expect_alive("after the bad commands");
}

static void scenario_reconnect(void)
{
	static const char *const level_word[] = { "OFF", "ON" };
	const char *want[N_START_STATES];
	size_t c;
	int status;

	for (size_t i = 0; i < N_START_STATES; i++)
		want[i] = start_states[i].state;
	if (!setup_broker() || !daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;

	for (int round = 1; round <= 2; round++) {
		int level = round == 1 ? 1 : 0;
		const char *relay_cmd = round == 1 ? "ON" : "OFF";
		char line[32], why[96], needle[32];
		unsigned int subs = watch_subacks();

		/* Broker killed; an input changes while it is away. */
		c = watch_mark();
		kill(T.broker, SIGKILL);
		waitpid(T.broker, &status, 0);
		T.broker = 0;
		snprintf(line, sizeof(line), "button %d\n", level);
		gpio_input(line);
		want[0] = level_word[level]; /* start_states[0] is button */
		snprintf(needle, sizeof(needle), "button %d lost=0", level);
		snprintf(why, sizeof(why), "round %d, broker down", round);
		check(gpio_wait_file("events.log", needle, TIMEOUT_MS),
		      "%s: the daemon still serves GPIO (edge dispatched)", why);
		expect_alive(why);

		/* Same port, empty broker (no persistence): whatever is there came after. */
		snprintf(why, sizeof(why), "round %d, broker restarted", round);
		if (!check(broker_start(), "%s on the same port %d", why, T.port))
			return;
		if (!check(watch_wait_subacks(subs + 1, RECONNECT_TIMEOUT_MS),
			   "%s: watcher resubscribed", why))
			return;
		/* Published by the daemon after the restart, live or (when the daemon was back
		 * before the watcher) as retained messages on the watcher's new subscription. */
		{
			size_t sc = c;

			/* Without "online" the rest would only time out one by one. */
			if (!expect_msg(&sc, NULL, "online", true, RECONNECT_TIMEOUT_MS, why))
				return;
		}
		for (size_t i = 0; i < N_START_STATES; i++) {
			size_t pc = c;

			if (!start_states[i].retain)
				continue; /* may go out before the watcher is back */
			expect_msg(&pc, start_states[i].pin, want[i], true, RECONNECT_TIMEOUT_MS,
				   why);
		}

		snprintf(why, sizeof(why), "round %d, after reconnect", round);
		{
			char got[64] = "";
			int dl = gpio_input_level("button", 0);
			bool have = retained_get("button", got, sizeof(got), TIMEOUT_MS);

			check(have && strcmp(got, level_word[dl]) == 0,
			      "%s: retained button state \"%s\" = the double's level %d", why,
			      have ? got : "(none)", dl);
		}
		expect_retained(NULL, "online", why);
		expect_retained("relay", want[2], why); /* start_states[2] is relay */

		/* Resubscribed: a command works. */
		c = watch_mark();
		pub_str("relay/set", relay_cmd, false);
		expect_msg(&c, "relay", relay_cmd, true, TIMEOUT_MS, "relay/set after reconnect");
		expect_output("relay", round == 1 ? "0 1" : "0 1 0", why);
		want[2] = relay_cmd;
	}
	expect_alive("after two broker restarts");
}

static void scenario_broker_late(void)
{
	size_t c;
	int64_t until;
	int status;
	bool alive = true;

	if (!setup_dirs())
		return;
	/* Nothing listens on T.port yet. */
	if (!daemon_start())
		return;
	check(gpio_wait_file("requested", "consumer", TIMEOUT_MS),
	      "broker down: the daemon requests its GPIO lines anyway");
	gpio_input("button 1\n");
	check(gpio_wait_file("events.log", "button 1 lost=0", TIMEOUT_MS),
	      "broker down: the daemon serves GPIO (edge dispatched)");
	/* Longer than reconnect_max_ms: several failed connection attempts. */
	until = now_ms() + 2500;
	while (alive && now_ms() < until) {
		alive = child_alive(T.daemon, &status);
		pause_ms(20);
	}
	if (!check(alive, "broker down for 2.5 s: the daemon keeps running")) {
		char buf[64];

		diag("it ended: %s", status_str(status, buf, sizeof(buf)));
		T.daemon = 0;
		return;
	}
	if (!check(broker_start(), "mosquitto starts on 127.0.0.1:%d", T.port))
		return;
	if (!check(watch_start(), "watcher subscribed to %s/#", T.base))
		return;
	/* The daemon may have published before the watcher subscribed: retained messages then
	 * arrive with the subscription, so the retained pins are seen either way. */
	c = 0;
	if (!expect_msg(&c, NULL, "online", true, RECONNECT_TIMEOUT_MS, "broker up"))
		return;
	for (size_t i = 0; i < N_START_STATES; i++) {
		size_t pc = 0;
		const char *want = start_states[i].state;

		if (!start_states[i].retain)
			continue;
		if (strcmp(start_states[i].pin, "button") == 0)
			want = "ON";
		expect_msg(&pc, start_states[i].pin, want, true, RECONNECT_TIMEOUT_MS, "broker up");
	}
	expect_retained("button", "ON", "broker up");
	c = watch_mark();
	pub_str("relay/set", "ON", false);
	expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "relay/set ON once connected");
	expect_output("relay", "0 1", "relay/set ON once connected");
	expect_alive("after the late broker");
}

static void scenario_stop_signal(int sig, const char *sig_name)
{
	size_t c;
	int status;
	char buf[64], path[PATH_LEN];

	if (!setup_broker() || !daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;
	c = watch_mark();
	kill(T.daemon, sig);
	if (check(child_wait(T.daemon, EXIT_TIMEOUT_MS, &status), "%s: the daemon exits", sig_name)) {
		T.daemon = 0;
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: exit status 0", sig_name);
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			diag("got: %s", status_str(status, buf, sizeof(buf)));
	} else {
		child_kill(&T.daemon, SIGKILL);
	}
	expect_msg(&c, NULL, "offline", true, TIMEOUT_MS, sig_name);
	expect_retained(NULL, "offline", sig_name);
	gpio_path(path, "released");
	check(file_exists(path), "%s: the GPIO lines are released (gpio_close)", sig_name);
}

static void scenario_sigterm(void)
{
	scenario_stop_signal(SIGTERM, "SIGTERM");
}

static void scenario_sigint(void)
{
	scenario_stop_signal(SIGINT, "SIGINT");
}

/* With mqtt.accept_retained_commands = true, a retained command waiting on the broker is
 * carried out at start. */
static void scenario_retained_accepted(void)
{
	size_t c;
	struct msg m;
	char topic[256];
	bool found = false;

	T.accept_retained = true;
	if (!setup_broker())
		return;
	if (!pub_str("relay/set", "ON", true))
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	topic_of(topic, sizeof(topic), "relay");
	while (!found && watch_next(&c, topic, TIMEOUT_MS, &m))
		found = strcmp(m.payload, "ON") == 0 && m.retain;
	check(found, "accept_retained_commands = true: retained relay/set ON carried out: "
		     "%s \"ON\" retained", topic);
	expect_output("relay", "0 1", "accept_retained_commands = true");
	expect_retained("relay", "ON", "accept_retained_commands = true");
	expect_alive("accept_retained_commands = true");
}

static void scenario_sigkill(void)
{
	size_t c;
	int status;

	if (!setup_broker() || !daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;
	c = watch_mark();
	kill(T.daemon, SIGKILL);
	waitpid(T.daemon, &status, 0);
	T.daemon = 0;
	expect_msg(&c, NULL, "offline", true, TIMEOUT_MS, "SIGKILL: the Last Will");
	expect_retained(NULL, "offline", "SIGKILL: the Last Will");

	/* And a new daemon comes back online over it. */
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_msg(&c, NULL, "online", true, TIMEOUT_MS, "restarted after SIGKILL");
	expect_retained(NULL, "online", "restarted after SIGKILL");
	expect_alive("restarted after SIGKILL");
}

/* Runs the daemon with ARGS, checks its exit status and that its stderr has every NEEDLES
 * string (NULL-terminated list, may be empty). */
static bool expect_run(const char *why, const char *const args[], bool gpio_env, int want_exit,
		       const char *const needles[])
{
	int status;
	char buf[64];
	bool ok;
	size_t len = 0;
	char *err;

	if (!check(daemon_run(args, gpio_env, &status), "%s: the daemon exits", why))
		return false;
	ok = WIFEXITED(status) && WEXITSTATUS(status) == want_exit;
	if (!check(ok, "%s: exit status %d", why, want_exit))
		diag("got: %s", status_str(status, buf, sizeof(buf)));
	err = file_read(T.daemon_err, &len);
	for (const char *const *n = needles; n && *n; n++) {
		bool has = err && strstr(err, *n);

		ok &= has;
		check(has, "%s: stderr has \"%s\"", why, *n);
	}
	if (!ok)
		dump_file("daemon stderr", T.daemon_err, 20);
	free(err);
	return ok;
}

static void expect_no_gpio(const char *why)
{
	char req[PATH_LEN], outs[PATH_LEN];

	gpio_path(req, "requested");
	gpio_path(outs, "outputs.log");
	check(!file_exists(req) && !file_exists(outs), "%s: no GPIO line touched", why);
}

static void scenario_config(void)
{
	char bad[PATH_LEN], bad2[PATH_LEN], syntax[PATH_LEN], path[PATH_LEN];
	char l6[PATH_LEN + 8], l5[PATH_LEN + 8], l8[PATH_LEN + 8], l3[PATH_LEN + 8];

	if (!setup_dirs())
		return;
	path_in(bad, T.tmp, "bad.conf");
	path_in(bad2, T.tmp, "bad2.conf");
	path_in(syntax, T.tmp, "syntax.conf");
	file_write(bad, "mqtt = {\n"
			"  brokers = ( { host = \"127.0.0.1\"; port = 1; } );\n"
			"  base_topic = \"g2m-int/config\";\n"
			"};\n"
			"inputs = (\n"
			"  { name = \"button\"; line = \"GPIO17\"; bias = \"sideways\"; }\n"
			");\n");
	file_write(bad2, "mqtt = {\n"
			 "  brokers = ( { host = \"127.0.0.1\"; port = 1; } );\n"
			 "};\n"
			 "inputs = (\n"
			 "  { name = \"button\"; line = \"GPIO17\"; bias = \"sideways\"; }\n"
			 ");\n"
			 "outputs = (\n"
			 "  { name = \"relay\"; line = \"GPIO27\"; drive = \"open-sesame\"; }\n"
			 ");\n");
	file_write(syntax, "mqtt = {\n"
			   "  brokers = ( { host = \"127.0.0.1\"; port = 1; } );\n"
			   "  keepalive = ;\n"
			   "};\n");
	snprintf(l6, sizeof(l6), "%s:6:", bad);
	snprintf(l5, sizeof(l5), "%s:5:", bad2);
	snprintf(l8, sizeof(l8), "%s:8:", bad2);
	snprintf(l3, sizeof(l3), "%s:3:", syntax);

	{
		const char *const args[] = { "-c", bad, NULL };
		const char *const needles[] = { l6, "bias", NULL };

		expect_run("bad bias", args, true, 78, needles);
		expect_no_gpio("bad bias");
	}
	{
		const char *const args[] = { "-c", syntax, NULL };
		const char *const needles[] = { l3, NULL };

		expect_run("syntax error", args, true, 78, needles);
		expect_no_gpio("syntax error");
	}
	{
		const char *const args[] = { "--check", "-c", bad2, NULL };
		const char *const needles[] = { l5, l8, NULL };
		char *out;

		expect_run("--check, two errors", args, true, 78, needles);
		out = file_read(T.daemon_out, NULL);
		check(!out || !strstr(out, "configuration OK"),
		      "--check, two errors: no \"configuration OK\"");
		free(out);
	}
	{
		const char *const args[] = { "-c", T.config, "--check", NULL };
		const char *const none[] = { NULL };
		char *out;

		expect_run("--check, good config", args, true, 0, none);
		out = file_read(T.daemon_out, NULL);
		check(out && strncmp(out, "configuration OK", 16) == 0,
		      "--check, good config: stdout starts with \"configuration OK\"");
		if (!out || strncmp(out, "configuration OK", 16) != 0)
			dump_file("stdout", T.daemon_out, 10);
		free(out);
		expect_no_gpio("--check, good config");
	}
	{
		const char *const args[] = { "-n", "-c", T.config, NULL };
		const char *const none[] = { NULL };

		expect_run("-n, good config", args, true, 0, none);
	}

	/* "initial" gave way to power_on (off | on | restore): an old file says so clearly. */
	{
		char old_conf[PATH_LEN];
		const char *const args[] = { "--check", "-c", old_conf, NULL };
		const char *const needles[] = { "unknown key 'initial'", NULL };

		path_in(old_conf, T.tmp, "old-initial.conf");
		write_config_key(old_conf, "initial");
		expect_run("--check, outputs with the old key initial", args, true, 78, needles);
	}

	/* GPIO refusals: exit 1 with the message naming the pin. */
	gpio_path(path, "busy");
	file_write(path, "relay\n");
	{
		const char *const args[] = { "-c", T.config, NULL };
		const char *const needles[] = { "pin 'relay'", "busy", "gpioset", NULL };

		expect_run("busy line", args, true, 1, needles);
	}
	unlink(path);
	gpio_path(path, "missing");
	file_write(path, "lamp\n");
	{
		const char *const args[] = { "-c", T.config, NULL };
		const char *const needles[] = { "pin 'lamp': no line named 'GPIO22' on any chip",
						NULL };

		expect_run("missing line", args, true, 1, needles);
	}
	unlink(path);
	{
		const char *const args[] = { "-c", T.config, NULL };
		const char *const needles[] = { "GPIO2MQTT_TEST_GPIO_DIR", NULL };

		expect_run("GPIO double without its directory", args, false, 1, needles);
	}
}

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
	{ "startup", scenario_startup },
	{ "inputs", scenario_inputs },
	{ "commands", scenario_commands },
	{ "bad-commands", scenario_bad_commands },
	{ "reconnect", scenario_reconnect },
	{ "broker-late", scenario_broker_late },
	{ "sigterm", scenario_sigterm },
	{ "sigint", scenario_sigint },
	{ "retained-accepted", scenario_retained_accepted },
	{ "sigkill", scenario_sigkill },
	{ "config", scenario_config },
#ifdef TEST_DAEMON_MORE_SCENARIOS
	TEST_DAEMON_MORE_SCENARIOS /* test_ops.c: this harness with more scenarios */
#endif
};

/* Under -Db_sanitize a sanitizer report in any daemon run is a failure, also when the daemon
 * went on (UBSan without halt_on_error) or was killed at the end. */
static void sanitizer_check(void)
{
	static const char *const marks[] = { "runtime error:", "AddressSanitizer",
					      "LeakSanitizer", "UndefinedBehaviorSanitizer" };
	bool clean = true;

	if (T.daemon_runs == 0)
		return;
	for (int run = 1; run <= T.daemon_runs; run++) {
		char name[64], path[PATH_LEN];
		char *text;

		snprintf(name, sizeof(name), "daemon-%d.stderr", run);
		path_in(path, T.tmp, name);
		text = file_read(path, NULL);
		for (size_t i = 0; text && i < sizeof(marks) / sizeof(marks[0]); i++) {
			if (strstr(text, marks[i])) {
				clean = false;
				diag("%s has \"%s\"", name, marks[i]);
				dump_file(name, path, 60);
				break;
			}
		}
		free(text);
	}
	check(clean, "no sanitizer report in the daemon's stderr (%d runs)", T.daemon_runs);
}

static void cleanup(void)
{
	int status;

	if (T.daemon > 0) {
		kill(T.daemon, SIGKILL);
		waitpid(T.daemon, &status, 0);
		T.daemon = 0;
	}
	watch_stop();
	if (T.broker > 0) {
		kill(T.broker, SIGKILL);
		waitpid(T.broker, &status, 0);
		T.broker = 0;
	}
	if (T.fifo >= 0)
		close(T.fifo);
	mosquitto_lib_cleanup();
	if (T.tmp[0]) {
		if (getenv("GPIO2MQTT_TEST_KEEP"))
			diag("kept %s", T.tmp);
		else
			rmtree(T.tmp);
	}
}

int main(int argc, char **argv)
{
	pthread_t sig_thread;
	void (*fn)(void) = NULL;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SCENARIO DAEMON MOSQUITTO\n", argv[0]);
		return 2;
	}
	T.scenario = argv[1];
	T.daemon_path = argv[2];
	T.mosquitto_path = argv[3];
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(scenarios[i].name, T.scenario) == 0)
			fn = scenarios[i].fn;
	if (!fn) {
		fprintf(stderr, "unknown scenario '%s'\n", T.scenario);
		return 2;
	}
	if (access(T.mosquitto_path, X_OK) < 0) {
		printf("1..0 # SKIP %s not found\n", T.mosquitto_path);
		return 0;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&fatal_signals);
	sigaddset(&fatal_signals, SIGTERM);
	sigaddset(&fatal_signals, SIGINT);
	sigaddset(&fatal_signals, SIGHUP);
	sigaddset(&fatal_signals, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &fatal_signals, NULL);
	if (pthread_create(&sig_thread, NULL, signal_thread, NULL) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 2;
	}
	pthread_detach(sig_thread);
	mosquitto_lib_init();

	printf("# scenario %s\n", T.scenario);
	fn();
	sanitizer_check();

	if (tap_failed) {
		if (T.daemon_err[0])
			dump_file("daemon stderr", T.daemon_err, 80);
		if (T.broker_log[0])
			dump_file("mosquitto log", T.broker_log, 30);
	}
	cleanup();
	printf("1..%u\n", tap_count);
	if (tap_failed)
		printf("# %u of %u checks failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}
