/* SPDX-License-Identifier: MIT */
/* Integration tests of the MQTT side (issue 4): the daemon (gpio2mqtt-test: main.c + the core
 * library, GPIO replaced by gpio_double.c) against real mosquitto brokers on 127.0.0.1: v5
 * refusals from an ACL, TLS (certificates made with openssl at test time), credentials, broker
 * failover, a restart storm and a long offline burst. One scenario per run, in its own
 * temporary directory with its own brokers on free ports. TAP output.
 *
 *   test-mqtt SCENARIO DAEMON MOSQUITTO MOSQUITTO_PASSWD OPENSSL
 *
 * STATUS= is read from a NOTIFY_SOCKET the test binds. Nothing is asserted by sleeping: every
 * wait is for a condition with a deadline, and "this was not logged" is checked after a fence
 * (a later state change whose message has arrived). */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Paths and topics here are short; a truncated one would fail its check visibly. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define TIMEOUT_MS 5000
#define RECONNECT_TIMEOUT_MS 15000
#define PATH_LEN 512
#define MAX_BROKERS 3

/* ---- TAP --------------------------------------------------------------------------------- */

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

/* ---- time, files ------------------------------------------------------------------------- */

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

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (cap - n < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool file_write(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, len) == (ssize_t)len;
	ok = fchmod(fd, mode) == 0 && ok;
	return close(fd) == 0 && ok;
}

static int rmtree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Occurrences of NEEDLE in the file. */
static int file_count(const char *path, const char *needle)
{
	char *text = file_read(path), *p;
	int n = 0;

	if (!text)
		return 0;
	for (p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(text);
	return n;
}

static bool file_wait_count(const char *path, const char *needle, int want, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	do {
		if (file_count(path, needle) >= want)
			return true;
		pause_ms(20);
	} while (now_ms() < deadline);
	return false;
}

/* ---- the world --------------------------------------------------------------------------- */

struct broker {
	int port;
	char extra[2048]; /* more mosquitto.conf lines */
	volatile pid_t pid;
	char conf[PATH_LEN];
	char log[PATH_LEN];
};

static struct {
	const char *scenario;
	const char *daemon_path;
	const char *mosquitto_path;
	const char *passwd_path;
	const char *openssl_path;
	char tmp[PATH_LEN];
	char gpio_dir[PATH_LEN];
	char config[PATH_LEN];
	char daemon_err[PATH_LEN];
	char notify_path[PATH_LEN];
	char creds_dir[PATH_LEN]; /* CREDENTIALS_DIRECTORY for the daemon, or empty */
	char base[128];
	int notify_fd;
	int fifo;
	int daemon_runs;
	char status[1024]; /* the last STATUS= */
	struct broker brokers[MAX_BROKERS];
	volatile pid_t daemon;
} T = { .notify_fd = -1, .fifo = -1 };

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static char status_seen[1024];

static sigset_t fatal_signals;

static void children_kill(void)
{
	if (T.daemon > 0)
		kill(T.daemon, SIGKILL);
	for (int i = 0; i < MAX_BROKERS; i++)
		if (T.brokers[i].pid > 0)
			kill(T.brokers[i].pid, SIGKILL);
}

static void *signal_thread(void *arg)
{
	int sig = 0;

	sigwait(&fatal_signals, &sig);
	children_kill();
	printf("Bail out! killed by signal %d\n", sig);
	fflush(stdout);
	if (T.tmp[0] && !getenv("GPIO2MQTT_TEST_KEEP"))
		nftw(T.tmp, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
	_exit(99);
	return NULL;
}

static void path_in(char *buf, const char *name)
{
	int n = snprintf(buf, PATH_LEN, "%s/%s", T.tmp, name);

	if (n < 0 || n >= PATH_LEN)
		abort();
}

extern char **environ;

/* Our environment without systemd's variables, plus the double's directory, NOTIFY_SOCKET and
 * CREDENTIALS_DIRECTORY for the daemon. Built before fork. */
static char **child_env(bool daemon)
{
	static const char *const drop[] = { "JOURNAL_STREAM=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
					    "WATCHDOG_PID=", "LISTEN_FDS=", "LISTEN_PID=",
					    "GPIO2MQTT_TEST_GPIO_DIR=", "CREDENTIALS_DIRECTORY=",
					    "ASAN_OPTIONS=" };
	static char vars[4][PATH_LEN + 32];
	size_t n = 0, o = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 5, sizeof(*env));
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
	if (daemon) {
		snprintf(vars[0], sizeof(vars[0]), "GPIO2MQTT_TEST_GPIO_DIR=%s", T.gpio_dir);
		env[o++] = vars[0];
		snprintf(vars[1], sizeof(vars[1]), "NOTIFY_SOCKET=%s", T.notify_path);
		env[o++] = vars[1];
		if (T.creds_dir[0]) {
			snprintf(vars[2], sizeof(vars[2]), "CREDENTIALS_DIRECTORY=%s", T.creds_dir);
			env[o++] = vars[2];
		}
		/* Under AddressSanitizer freed memory sits in a quarantine of 256 MB, which would
		 * read as growth in the memory checks; a small one keeps them meaningful. */
		snprintf(vars[3], sizeof(vars[3]), "ASAN_OPTIONS=%s%squarantine_size_mb=1",
			 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "",
			 getenv("ASAN_OPTIONS") ? ":" : "");
		env[o++] = vars[3];
	}
	env[o] = NULL;
	return env;
}

static pid_t spawn(char *const argv[], const char *out_path, bool daemon)
{
	char **env = child_env(daemon);
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;
		int in, out;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		in = open("/dev/null", O_RDONLY);
		out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	return pid < 0 ? -1 : pid;
}

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

static void child_kill(volatile pid_t *pid, int sig)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	if (!child_wait(*pid, TIMEOUT_MS, &status)) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &status, 0);
	}
	*pid = 0;
}

/* Runs ARGV to completion (a tool: openssl, mosquitto_passwd), output into LOG. */
static bool run_tool(char *const argv[], const char *log)
{
	pid_t pid = spawn(argv, log, false);
	int status;

	if (pid < 0 || !child_wait(pid, 30000, &status))
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- brokers ----------------------------------------------------------------------------- */

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

/* Starts broker I on its port (plain listener) with its extra lines; waits until it accepts
 * connections on every listener it has (the extra lines' listeners are listed in PORTS). */
static bool broker_start(int i, const int *more_ports, size_t n_more)
{
	struct broker *b = &T.brokers[i];
	char name[64], text[4096];
	char *argv[] = { (char *)T.mosquitto_path, (char *)"-c", b->conf, NULL };
	int64_t deadline;
	int status;

	snprintf(name, sizeof(name), "mosquitto-%d.conf", i);
	path_in(b->conf, name);
	snprintf(name, sizeof(name), "mosquitto-%d.log", i);
	path_in(b->log, name);
	snprintf(text, sizeof(text),
		 "persistence false\n"
		 "user root\n"
		 "log_dest stderr\n"
		 "log_type all\n"
		 "%s"
		 "listener %d 127.0.0.1\n",
		 b->extra, b->port);
	/* The extra lines may define listeners; the global ones must come first. */
	if (strstr(b->extra, "listener")) {
		char *split = strstr(b->extra, "listener");

		snprintf(text, sizeof(text),
			 "persistence false\nuser root\nlog_dest stderr\nlog_type all\n%.*s"
			 "listener %d 127.0.0.1\n%s",
			 (int)(split - b->extra), b->extra, b->port, split);
	}
	if (!file_write(b->conf, text, 0644))
		return false;
	b->pid = spawn(argv, b->log, false);
	if (b->pid < 0)
		return false;
	deadline = now_ms() + TIMEOUT_MS;
	while (now_ms() < deadline) {
		bool all = port_accepts(b->port);

		for (size_t k = 0; k < n_more && all; k++)
			all = port_accepts(more_ports[k]);
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			char *log = file_read(b->log);

			diag("mosquitto %d exited; its log:\n%s", i, log ? log : "(none)");
			free(log);
			b->pid = 0;
			return false;
		}
		if (all)
			return true;
		pause_ms(20);
	}
	diag("mosquitto %d does not accept connections", i);
	return false;
}

static void broker_stop(int i, int sig)
{
	child_kill(&T.brokers[i].pid, sig);
}

/* ---- MQTT clients of the test ------------------------------------------------------------ */

struct fetch {
	const char *topic;
	char fence[128];
	char value[512];
	bool got, fenced, subacked, connected;
	int rc;
};

static void fetch_on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct fetch *f = obj;

	f->connected = rc == 0;
	f->rc = rc;
}

static void fetch_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
	struct fetch *f = obj;

	f->subacked = true;
	mosquitto_publish(m, NULL, f->fence, 1, "x", 0, false);
}

static void fetch_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct fetch *f = obj;

	if (strcmp(msg->topic, f->fence) == 0) {
		f->fenced = true;
	} else if (msg->retain) {
		snprintf(f->value, sizeof(f->value), "%.*s", msg->payloadlen, (char *)msg->payload);
		f->got = true;
	}
}

static struct mosquitto *client_new(const char *id, void *obj)
{
	struct mosquitto *m = mosquitto_new(id, true, obj);

	if (m) {
		mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
		mosquitto_username_pw_set(m, "watcher", "watcher-pw");
	}
	return m;
}

/* The retained message on TOPIC at broker PORT now: 1 and VALUE, 0 when none, -1 on errors.
 * A fence message published after the SUBACK arrives after any retained message. */
static int retained_get(int port, const char *topic, char *value, size_t size)
{
	static unsigned int counter;
	struct fetch f = { .topic = topic };
	const char *subs[2];
	struct mosquitto *m;
	int64_t deadline = now_ms() + 2000;
	char id[64];
	int r = -1;

	snprintf(id, sizeof(id), "fetch-%d-%u", (int)getpid(), ++counter);
	snprintf(f.fence, sizeof(f.fence), "test-fence/%s", id);
	m = client_new(id, &f);
	if (!m)
		return -1;
	mosquitto_connect_callback_set(m, fetch_on_connect);
	mosquitto_subscribe_callback_set(m, fetch_on_subscribe);
	mosquitto_message_callback_set(m, fetch_on_message);
	if (mosquitto_connect(m, "127.0.0.1", port, 10) != MOSQ_ERR_SUCCESS)
		goto destroy;
	subs[0] = topic;
	subs[1] = f.fence;
	while (!f.connected && now_ms() < deadline)
		if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
			goto destroy;
	if (!f.connected ||
	    mosquitto_subscribe_multiple(m, NULL, 2, (char *const *)subs, 1, 0, NULL) != 0)
		goto destroy;
	while (!f.fenced && now_ms() < deadline)
		if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
			goto destroy;
	if (f.fenced) {
		r = f.got ? 1 : 0;
		snprintf(value, size, "%s", f.got ? f.value : "");
	}
destroy:
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	return r;
}

/* Waits until the retained message of PIN's state at broker PORT is WANT. */
static bool retained_wait(int port, const char *pin, const char *want, int timeout_ms,
			  char *last, size_t size)
{
	int64_t deadline = now_ms() + timeout_ms;
	char topic[256];

	snprintf(topic, sizeof(topic), "%s/%s", T.base, pin);
	snprintf(last, size, "(nothing)");
	do {
		int r = retained_get(port, topic, last, size);

		if (r == 1 && strcmp(last, want) == 0)
			return true;
		if (r == 0)
			snprintf(last, size, "(no retained message)");
		pause_ms(50);
	} while (now_ms() < deadline);
	return false;
}

static bool expect_retained(int port, const char *pin, const char *want, int timeout_ms,
			    const char *why)
{
	char last[512];
	bool ok = retained_wait(port, pin, want, timeout_ms, last, sizeof(last));

	check(ok, "%s: retained %s/%s is %s", why, T.base, pin, want);
	if (!ok)
		diag("last seen: %s", last);
	return ok;
}

/* The watcher: every message under <base>/# at one broker, in order. */
struct msg {
	char topic[256];
	char payload[256];
	bool retain;
};

static struct {
	struct mosquitto *m;
	pthread_mutex_t lock;
	struct msg *msgs;
	size_t n, cap;
	bool subacked;
	bool persistent; /* a session the broker keeps (and queues for) while we are away */
} W = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void watch_on_connect(struct mosquitto *m, void *obj, int rc)
{
	char topic[256];

	snprintf(topic, sizeof(topic), "%s/#", T.base);
	if (rc == 0)
		mosquitto_subscribe(m, NULL, topic, 1);
}

static void watch_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
	pthread_mutex_lock(&W.lock);
	W.subacked = true;
	pthread_mutex_unlock(&W.lock);
}

static void watch_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	pthread_mutex_lock(&W.lock);
	if (W.n == W.cap) {
		size_t cap = W.cap ? W.cap * 2 : 256;
		struct msg *nm = realloc(W.msgs, cap * sizeof(*nm));

		if (!nm) {
			pthread_mutex_unlock(&W.lock);
			return;
		}
		W.msgs = nm;
		W.cap = cap;
	}
	snprintf(W.msgs[W.n].topic, sizeof(W.msgs[W.n].topic), "%s", msg->topic);
	snprintf(W.msgs[W.n].payload, sizeof(W.msgs[W.n].payload), "%.*s", msg->payloadlen,
		 (char *)msg->payload);
	W.msgs[W.n].retain = msg->retain;
	W.n++;
	pthread_mutex_unlock(&W.lock);
}

static bool watch_start(int port)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	bool ok = false;

	W.m = client_new("watcher", NULL);
	if (!W.m)
		return false;
	if (W.persistent) {
		mosquitto_destroy(W.m);
		W.m = mosquitto_new("watcher", false, NULL);
		if (!W.m)
			return false;
		mosquitto_username_pw_set(W.m, "watcher", "watcher-pw");
	}
	W.subacked = false;
	mosquitto_connect_callback_set(W.m, watch_on_connect);
	mosquitto_subscribe_callback_set(W.m, watch_on_subscribe);
	mosquitto_message_callback_set(W.m, watch_on_message);
	if (mosquitto_connect(W.m, "127.0.0.1", port, 10) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(W.m) != MOSQ_ERR_SUCCESS)
		return false;
	while (!ok && now_ms() < deadline) {
		pthread_mutex_lock(&W.lock);
		ok = W.subacked;
		pthread_mutex_unlock(&W.lock);
		if (!ok)
			pause_ms(10);
	}
	return ok;
}

static void watch_stop(void)
{
	if (!W.m)
		return;
	mosquitto_disconnect(W.m);
	mosquitto_loop_stop(W.m, true);
	mosquitto_destroy(W.m);
	W.m = NULL;
}

static size_t watch_mark(void)
{
	size_t n;

	pthread_mutex_lock(&W.lock);
	n = W.n;
	pthread_mutex_unlock(&W.lock);
	return n;
}

/* Waits for a message on <base>/SUFFIX with PAYLOAD (NULL: any) at index >= *CURSOR; moves the
 * cursor past it. */
static bool watch_wait(size_t *cursor, const char *suffix, const char *payload, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	char topic[256];

	snprintf(topic, sizeof(topic), "%s/%s", T.base, suffix);
	do {
		pthread_mutex_lock(&W.lock);
		for (size_t i = *cursor; i < W.n; i++) {
			if (strcmp(W.msgs[i].topic, topic) == 0 &&
			    (!payload || strcmp(W.msgs[i].payload, payload) == 0)) {
				*cursor = i + 1;
				pthread_mutex_unlock(&W.lock);
				return true;
			}
		}
		pthread_mutex_unlock(&W.lock);
		pause_ms(10);
	} while (now_ms() < deadline);
	pthread_mutex_lock(&W.lock);
	diag("no %s %s from message %zu on; the watcher has %zu:", topic, payload ? payload : "",
	     *cursor, W.n);
	for (size_t i = 0; i < W.n; i++)
		diag("  %zu: %s %s%s", i, W.msgs[i].topic, W.msgs[i].payload,
		     W.msgs[i].retain ? " (retained)" : "");
	pthread_mutex_unlock(&W.lock);
	return false;
}

/* ---- the daemon -------------------------------------------------------------------------- */

/* Config pieces: BROKERS is the inside of brokers = ( ... ); MQTT_EXTRA more mqtt lines. */
static bool config_write(const char *brokers, const char *mqtt_extra)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "mqtt = {\n"
		 "  brokers = ( %s );\n"
		 "  client_id = \"g2m-mqtt-%s-%d\";\n"
		 "  base_topic = \"%s\";\n"
		 "  keepalive = 5;\n"
		 "  reconnect_min_ms = 100;\n"
		 "  reconnect_max_ms = 1000;\n"
		 "%s"
		 "};\n"
		 "inputs = (\n"
		 "  { name = \"sw\"; line = \"GPIO1\"; },\n"
		 "  { name = \"other\"; line = \"GPIO2\"; qos = 1; },\n"
		 "  { name = \"cheap\"; line = \"GPIO4\"; qos = 0; },\n"
		 "  { name = \"btn\"; line = \"GPIO3\"; mode = \"button\"; double_press_ms = 0; "
		 "payload = \"json\"; }\n"
		 ");\n",
		 brokers, T.scenario, (int)getpid(), T.base, mqtt_extra ? mqtt_extra : "");
	return file_write(T.config, text, 0644);
}

static void broker_entry(char *buf, size_t size, int port)
{
	snprintf(buf, size, "{ host = \"127.0.0.1\"; port = %d; }", port);
}

static bool daemon_start(bool debug)
{
	char name[64];
	char *argv[] = { (char *)T.daemon_path, (char *)"-c", T.config,
			 debug ? (char *)"-d" : NULL, NULL };
	char requested[PATH_LEN + 16], input[PATH_LEN + 16];
	int64_t deadline = now_ms() + TIMEOUT_MS;

	T.daemon_runs++;
	snprintf(name, sizeof(name), "daemon-%d.log", T.daemon_runs);
	path_in(T.daemon_err, name);
	snprintf(requested, sizeof(requested), "%s/requested", T.gpio_dir);
	snprintf(input, sizeof(input), "%s/input", T.gpio_dir);
	unlink(requested);
	pthread_mutex_lock(&status_lock);
	status_seen[0] = '\0';
	pthread_mutex_unlock(&status_lock);
	T.daemon = spawn(argv, T.daemon_err, true);
	if (T.daemon <= 0)
		return false;
	while (access(requested, F_OK) != 0) {
		if (now_ms() > deadline)
			return false;
		pause_ms(10);
	}
	if (T.fifo < 0)
		T.fifo = open(input, O_WRONLY | O_CLOEXEC);
	return T.fifo >= 0;
}

static void daemon_dump(void)
{
	char *text = file_read(T.daemon_err);
	size_t len = text ? strlen(text) : 0;
	const char *start = text;

	if (!text)
		return;
	if (len > 6000)
		start = text + len - 6000;
	diag("daemon log (%s), last part:", T.daemon_err);
	for (const char *p = start; *p;) {
		const char *nl = strchr(p, '\n');
		int l = nl ? (int)(nl - p) : (int)strlen(p);

		printf("#     | %.*s\n", l, p);
		p += l + (nl ? 1 : 0);
	}
	free(text);
}

static bool daemon_alive(const char *why)
{
	int status;
	bool alive = T.daemon > 0 && waitpid(T.daemon, &status, WNOHANG) == 0;

	if (!check(alive, "%s: the daemon is running", why)) {
		if (T.daemon > 0 && WIFEXITED(status))
			diag("exit status %d", WEXITSTATUS(status));
		else if (T.daemon > 0 && WIFSIGNALED(status))
			diag("killed by signal %d", WTERMSIG(status));
		T.daemon = 0;
	}
	return alive;
}

static bool daemon_stop(void)
{
	int status = -1;

	if (T.daemon <= 0)
		return false;
	kill(T.daemon, SIGTERM);
	if (!child_wait(T.daemon, TIMEOUT_MS, &status)) {
		kill(T.daemon, SIGKILL);
		waitpid(T.daemon, &status, 0);
	}
	T.daemon = 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool log_wait(const char *needle, int want, int timeout_ms, const char *why)
{
	bool ok = file_wait_count(T.daemon_err, needle, want, timeout_ms);

	if (!check(ok, "%s: the log has \"%s\"%s", why, needle, want > 1 ? " (repeatedly)" : ""))
		daemon_dump();
	return ok;
}

static bool gpio(const char *pin, int level)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %d\n", pin, level);

	return write(T.fifo, line, (size_t)n) == n;
}

/* Reads the notify socket all the time (sd_notify blocks when its queue is full) and keeps the
 * last STATUS=. */
static void *notify_thread(void *arg)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(T.notify_fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		char *s;

		buf[n] = '\0';
		s = strstr(buf, "STATUS=");
		if (s) {
			s += 7;
			pthread_mutex_lock(&status_lock);
			snprintf(status_seen, sizeof(status_seen), "%.*s", (int)strcspn(s, "\n"), s);
			pthread_mutex_unlock(&status_lock);
		}
	}
	return NULL;
}

static void notify_drain(void)
{
	pthread_mutex_lock(&status_lock);
	snprintf(T.status, sizeof(T.status), "%s", status_seen);
	pthread_mutex_unlock(&status_lock);
}

static bool status_wait(const char *needle, int timeout_ms, const char *why)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool ok;

	do {
		notify_drain();
		ok = strstr(T.status, needle) != NULL;
		if (!ok)
			pause_ms(20);
	} while (!ok && now_ms() < deadline);
	if (!check(ok, "%s: STATUS= has \"%s\"", why, needle))
		diag("last STATUS=%s", T.status);
	return ok;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static bool setup(void)
{
	const char *tmpdir = getenv("TMPDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmpl[PATH_LEN];

	snprintf(tmpl, sizeof(tmpl), "%s/g2m-mqtt-%s-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp",
		 T.scenario);
	if (!mkdtemp(tmpl))
		return false;
	snprintf(T.tmp, sizeof(T.tmp), "%s", tmpl);
	path_in(T.gpio_dir, "gpio");
	path_in(T.config, "gpio2mqtt.conf");
	path_in(T.notify_path, "notify.sock");
	if (mkdir(T.gpio_dir, 0755) < 0)
		return false;
	snprintf(T.base, sizeof(T.base), "g2mtest/%s-%d", T.scenario, (int)getpid());
	T.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", T.notify_path);
	if (T.notify_fd < 0 || bind(T.notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return false;
	{
		pthread_t thread;

		if (pthread_create(&thread, NULL, notify_thread, NULL) != 0)
			return false;
		pthread_detach(thread);
	}
	for (int i = 0; i < MAX_BROKERS; i++)
		T.brokers[i].port = free_port();
	return true;
}

static void cleanup(void)
{
	watch_stop();
	if (T.daemon > 0)
		child_kill(&T.daemon, SIGKILL);
	for (int i = 0; i < MAX_BROKERS; i++)
		broker_stop(i, SIGKILL);
	if (T.fifo >= 0)
		close(T.fifo);
	if (T.notify_fd >= 0)
		shutdown(T.notify_fd, SHUT_RDWR);
	if (T.tmp[0] && !getenv("GPIO2MQTT_TEST_KEEP"))
		nftw(T.tmp, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
	else if (T.tmp[0])
		diag("kept %s", T.tmp);
}

/* The ordinary start: broker 0 up, the watcher on it, the daemon connected. */
static bool start_plain(const char *mqtt_extra, bool debug)
{
	char brokers[128];

	broker_entry(brokers, sizeof(brokers), T.brokers[0].port);
	return check(broker_start(0, NULL, 0), "broker starts") &&
	       check(watch_start(T.brokers[0].port), "watcher subscribed") &&
	       check(config_write(brokers, mqtt_extra), "config written") &&
	       check(daemon_start(debug), "daemon starts");
}

/* ---- scenarios --------------------------------------------------------------------------- */

/* An ACL forbids publishing one state topic. Under v5 the refusal (PUBACK 0x87) is logged once
 * for that topic and counted in STATUS=; everything else keeps working. Under v3.1.1 the broker
 * cannot say so: nothing is logged. */
static void scenario_acl(bool v5)
{
	char acl[PATH_LEN], text[1024], needle[256];
	size_t c = 0;

	path_in(acl, "acl");
	snprintf(text, sizeof(text),
		 "topic readwrite %s/sw\n"
		 "topic readwrite %s/cheap\n"
		 "topic readwrite %s/status\n"
		 "topic readwrite %s/btn/#\n"
		 "topic read %s/+/set\n"
		 "topic read %s/+/pulse\n"
		 "topic readwrite homeassistant/#\n"
		 "topic readwrite homie/#\n"
		 "user watcher\n"
		 "topic readwrite #\n",
		 T.base, T.base, T.base, T.base, T.base, T.base);
	if (!check(file_write(acl, text, 0644), "ACL written"))
		return;
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous true\nacl_file %s\n", acl);
	if (!start_plain(v5 ? "  protocol = \"v5\";\n" : "  protocol = \"v3.1.1\";\n", true))
		return;
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "sw state arrives");
	snprintf(needle, sizeof(needle),
		 "refused the publish to %s/other: Not authorized (reason code 0x87)", T.base);
	if (v5)
		log_wait(needle, 1, TIMEOUT_MS, "the refusal of other's state at connect");
	gpio("other", 1);
	gpio("other", 0);
	gpio("sw", 1);
	check(watch_wait(&c, "sw", "ON", TIMEOUT_MS), "sw still works (fence)");
	gpio("other", 1);
	gpio("sw", 0);
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "sw still works (second fence)");
	if (v5) {
		status_wait("4 publishes refused by the broker", TIMEOUT_MS,
			    "every refusal counted");
		/* The health summary in STATUS= (issue 7) counts them too. */
		status_wait("0 failed, 4 denied;", TIMEOUT_MS, "health summary: denied counted");
		status_wait("config generation 1", TIMEOUT_MS, "health summary: config generation");
		check(file_count(T.daemon_err, needle) == 1,
		      "the refusal is logged once for the topic (logged %d times)",
		      file_count(T.daemon_err, needle));
	} else {
		/* The daemon handled the later sw edge, so the other edges were sent before. */
		check(file_count(T.daemon_err, "refused the publish") == 0,
		      "v3.1.1: nothing is logged about the refusal (brokers cannot tell)");
		notify_drain();
		check(strstr(T.status, "refused") == NULL, "v3.1.1: STATUS= counts nothing");
	}
	{
		char last[256];

		check(retained_wait(T.brokers[0].port, "other", "ON", 300, last, sizeof(last)) ==
			      false,
		      "the refused state was not stored by the broker");
	}
	daemon_alive("after the refusals");
}

static void scenario_acl_v5(void)
{
	scenario_acl(true);
}

static void scenario_acl_v311(void)
{
	scenario_acl(false);
}

/* ---- TLS --------------------------------------------------------------------------------- */

static char tls_dir[PATH_LEN];

/* Makes two CAs, a server certificate for 127.0.0.1/localhost and one for another host name
 * (both from the good CA), and a client certificate with a password-protected key. */
static bool tls_make(void)
{
	char script[4096], log[PATH_LEN];
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", script, NULL };

	path_in(tls_dir, "tls");
	path_in(log, "openssl.log");
	if (mkdir(tls_dir, 0700) < 0)
		return false;
	snprintf(script, sizeof(script),
		 "set -e; cd '%s'; O='%s'\n"
		 "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1'\n"
		 "$O req -x509 $ec -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca\n"
		 "$O req -x509 $ec -nodes -keyout wrongca.key -out wrongca.pem -days 2 "
		 "-subj /CN=wrong-ca\n"
		 "for s in server:IP:127.0.0.1,DNS:localhost other:DNS:other.example; do\n"
		 "  n=${s%%%%:*}; san=${s#*:}\n"
		 "  $O req $ec -nodes -keyout $n.key -out $n.csr -subj /CN=$n\n"
		 "  printf 'subjectAltName=%%s\\n' \"$san\" > $n.ext\n"
		 "  $O x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem "
		 "-days 2 -extfile $n.ext\n"
		 "done\n"
		 "$O req $ec -passout pass:key-s3cret -keyout client.key -out client.csr "
		 "-subj /CN=gpio2mqtt-client\n"
		 "$O x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		 "-out client.pem -days 2\n"
		 "printf 'key-s3cret\\n' > keypw.txt; chmod 600 keypw.txt\n"
		 "chmod 644 *.pem *.key\n",
		 tls_dir, T.openssl_path);
	if (!run_tool(argv, log)) {
		char *text = file_read(log);

		diag("openssl failed:\n%s", text ? text : "");
		free(text);
		return false;
	}
	return true;
}

/* Broker 0: plain listener (watcher), TLS on port 1 (server cert), TLS on port 2 (cert for
 * another host name), TLS with client certificates required on port 3. */
static int tls_ports[3];

static bool tls_broker_start(void)
{
	if (!check(tls_make(), "certificates made with openssl"))
		return false;
	for (int i = 0; i < 3; i++)
		tls_ports[i] = free_port();
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous true\n"
		 "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
		 "keyfile %s/server.key\n"
		 "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/other.pem\n"
		 "keyfile %s/other.key\n"
		 "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
		 "keyfile %s/server.key\nrequire_certificate true\n",
		 tls_ports[0], tls_dir, tls_dir, tls_dir, tls_ports[1], tls_dir, tls_dir, tls_dir,
		 tls_ports[2], tls_dir, tls_dir, tls_dir);
	return check(broker_start(0, tls_ports, 3), "TLS broker starts") &&
	       check(watch_start(T.brokers[0].port), "watcher subscribed");
}

static bool tls_daemon(int port, const char *tls_group)
{
	char brokers[128], extra[1024];

	broker_entry(brokers, sizeof(brokers), port);
	snprintf(extra, sizeof(extra), "  tls = { %s };\n", tls_group);
	return check(config_write(brokers, extra), "config written") &&
	       check(daemon_start(true), "daemon starts");
}

static void scenario_tls(void)
{
	char group[1024], needle[128];
	size_t c = 0;

	if (!tls_broker_start())
		return;

	/* A good CA. */
	snprintf(group, sizeof(group), "ca_file = \"%s/ca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[0], group))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d over TLS", tls_ports[0]);
	log_wait(needle, 1, TIMEOUT_MS, "good CA");
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "good CA: the state arrives");
	status_wait(needle, TIMEOUT_MS, "good CA");
	gpio("sw", 1);
	check(watch_wait(&c, "sw", "ON", TIMEOUT_MS), "good CA: an edge arrives");
	check(daemon_stop(), "good CA: clean stop");

	/* A CA that did not sign the broker's certificate: a clear reason, and retries. */
	snprintf(group, sizeof(group), "ca_file = \"%s/wrongca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[0], group))
		return;
	log_wait("certificate verify failed (the broker's certificate is not signed by the "
		 "configured CA",
		 1, TIMEOUT_MS, "wrong CA");
	log_wait("mqtt: connecting to", 3, RECONNECT_TIMEOUT_MS, "wrong CA: keeps trying");
	status_wait("certificate verify failed", TIMEOUT_MS, "wrong CA");
	daemon_alive("wrong CA");
	check(daemon_stop(), "wrong CA: clean stop");

	/* The right CA, but the certificate names another host: host name verification. */
	snprintf(group, sizeof(group), "ca_file = \"%s/ca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[1], group))
		return;
	log_wait("certificate verify failed", 1, TIMEOUT_MS, "certificate for another host");
	log_wait("mqtt: connecting to", 2, RECONNECT_TIMEOUT_MS, "another host: keeps trying");
	daemon_alive("another host");
	check(daemon_stop(), "another host: clean stop");

	/* The insecure option: connects anyway, with a warning at start. */
	snprintf(group, sizeof(group), "ca_file = \"%s/wrongca.pem\"; insecure_skip_verify = true;",
		 tls_dir);
	if (!tls_daemon(tls_ports[1], group))
		return;
	log_wait("insecure_skip_verify = true: the broker's certificate and host name are NOT "
		 "checked",
		 1, TIMEOUT_MS, "insecure");
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d over TLS", tls_ports[1]);
	log_wait(needle, 1, TIMEOUT_MS, "insecure: connects");
	check(daemon_stop(), "insecure: clean stop");
}

static void scenario_tls_client_cert(void)
{
	char group[1024], needle[128];
	size_t c;

	if (!tls_broker_start())
		return;
	/* Without a client certificate the broker hangs up in the handshake. */
	snprintf(group, sizeof(group), "ca_file = \"%s/ca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[2], group))
		return;
	log_wait("cannot connect to 127.0.0.1", 1, RECONNECT_TIMEOUT_MS, "no client certificate");
	log_wait("mqtt: connecting to", 2, RECONNECT_TIMEOUT_MS, "no client certificate: retries");
	daemon_alive("no client certificate");
	check(daemon_stop(), "no client certificate: clean stop");

	/* With it (the key is protected by a password read from a file). */
	snprintf(group, sizeof(group),
		 "ca_file = \"%s/ca.pem\"; cert_file = \"%s/client.pem\"; "
		 "key_file = \"%s/client.key\"; key_password_file = \"%s/keypw.txt\"; "
		 "min_version = \"tlsv1.2\";",
		 tls_dir, tls_dir, tls_dir, tls_dir);
	c = watch_mark();
	if (!tls_daemon(tls_ports[2], group))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d over TLS", tls_ports[2]);
	log_wait(needle, 1, TIMEOUT_MS, "client certificate");
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "client certificate: the state arrives");
	check(file_count(T.daemon_err, "key-s3cret") == 0, "the key password is not logged");
	check(daemon_stop(), "client certificate: clean stop");
}

/* A TLS broker that is down at the first connect (libmosquitto 2.0.21's loop_start thread dies
 * there): the daemon keeps trying and connects once it is up. */
static void scenario_tls_late(void)
{
	char group[1024], needle[128];
	size_t c = 0;

	path_in(tls_dir, "tls");
	for (int i = 0; i < 3; i++)
		tls_ports[i] = free_port();
	if (!check(tls_make(), "certificates made with openssl"))
		return;
	snprintf(group, sizeof(group), "ca_file = \"%s/ca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[0], group))
		return;
	log_wait("mqtt: connecting to", 3, RECONNECT_TIMEOUT_MS, "TLS broker down: keeps trying");
	daemon_alive("TLS broker down");
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous true\n"
		 "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
		 "keyfile %s/server.key\n",
		 tls_ports[0], tls_dir, tls_dir, tls_dir);
	if (!check(broker_start(0, tls_ports, 1), "TLS broker starts late") ||
	    !check(watch_start(T.brokers[0].port), "watcher subscribed"))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d over TLS", tls_ports[0]);
	log_wait(needle, 1, RECONNECT_TIMEOUT_MS, "TLS broker up");
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "the state arrives");
}

/* ---- credentials ------------------------------------------------------------------------- */

static void scenario_credentials(void)
{
	char pwfile[PATH_LEN], userpw[PATH_LEN], log[PATH_LEN], extra[1024], brokers[128];
	char cmdline[PATH_LEN], *text;
	char *argv1[] = { (char *)T.passwd_path, (char *)"-c", (char *)"-b", pwfile,
			  (char *)"gpio", (char *)"right-s3cret", NULL };
	char *argv2[] = { (char *)T.passwd_path, (char *)"-b", pwfile, (char *)"watcher",
			  (char *)"watcher-pw", NULL };
	char needle[128];
	size_t c = 0;

	path_in(pwfile, "mosquitto.passwd");
	path_in(userpw, "password");
	path_in(log, "passwd.log");
	if (!check(run_tool(argv1, log) && run_tool(argv2, log), "mosquitto_passwd"))
		return;
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous false\npassword_file %s\n", pwfile);
	broker_entry(brokers, sizeof(brokers), T.brokers[0].port);
	if (!check(broker_start(0, NULL, 0), "broker starts") ||
	    !check(watch_start(T.brokers[0].port), "watcher subscribed"))
		return;

	/* A wrong password, in a file everybody may read. */
	snprintf(extra, sizeof(extra), "  username = \"gpio\";\n  password_file = \"%s\";\n",
		 userpw);
	if (!check(file_write(userpw, "wrong-s3cret\n", 0644), "password file written") ||
	    !check(config_write(brokers, extra), "config written") ||
	    !check(daemon_start(true), "daemon starts"))
		return;
	log_wait("can be read by every user on this machine", 1, TIMEOUT_MS,
		 "world-readable password file");
	log_wait("the broker refused the connection: Not authorized (check username, the "
		 "password and the broker's ACL)",
		 1, TIMEOUT_MS, "wrong password");
	{
		/* Attempts 1..5 are 4 delays apart: 100, 200, 400, 800 ms, each -20 % at worst. */
		int64_t t1, t5;

		file_wait_count(T.daemon_err, "mqtt: connecting to", 1, TIMEOUT_MS);
		t1 = now_ms();
		log_wait("mqtt: connecting to", 5, RECONNECT_TIMEOUT_MS,
			 "wrong password: keeps trying");
		t5 = now_ms();
		check(t5 - t1 >= 1000, "wrong password: with backoff (5 attempts took %lld ms)",
		      (long long)(t5 - t1));
	}
	status_wait("the broker refused the connection", TIMEOUT_MS, "wrong password");
	{
		/* The backoff grows: the delays logged grow (within the +-20 % jitter). */
		long delays[8];
		int n = 0;
		char *p;

		text = file_read(T.daemon_err);
		for (p = text; p && n < 8 && (p = strstr(p, " in ")); p += 4) {
			long ms;
			char unit[4];

			if (sscanf(p, " in %ld %3s", &ms, unit) == 2 && strcmp(unit, "ms") == 0)
				delays[n++] = ms;
		}
		free(text);
		check(n >= 3 && delays[n - 1] > delays[0],
		      "wrong password: the retry delay grows (%d delays, first %ld ms, last %ld ms)",
		      n, n ? delays[0] : 0, n ? delays[n - 1] : 0);
	}
	snprintf(cmdline, sizeof(cmdline), "/proc/%d/cmdline", (int)T.daemon);
	text = file_read(cmdline);
	check(text && !strstr(text, "s3cret"), "the password is not in the process arguments");
	free(text);
	daemon_alive("wrong password");
	check(daemon_stop(), "wrong password: clean stop");
	check(file_count(T.daemon_err, "wrong-s3cret") == 0, "the password is never logged");

	/* Fixed (and private) file, restart: connects. */
	if (!check(file_write(userpw, "right-s3cret\n", 0600), "password fixed") ||
	    !check(daemon_start(true), "daemon restarts"))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d", T.brokers[0].port);
	log_wait(needle, 1, TIMEOUT_MS, "right password");
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "right password: the state arrives");
	check(file_count(T.daemon_err, "can be read by every user") == 0,
	      "a private password file draws no warning");
	check(daemon_stop(), "right password: clean stop");

	/* --check never shows it. */
	{
		char out[PATH_LEN];
		char *argv[] = { (char *)T.daemon_path, (char *)"--check", (char *)"-c", T.config,
				 NULL };

		path_in(out, "check.log");
		check(run_tool(argv, out), "--check passes");
		check(file_count(out, "s3cret") == 0, "--check output has no password");
	}

	/* The systemd credential instead of password_file. */
	path_in(T.creds_dir, "credentials");
	{
		char cred[PATH_LEN + 32];

		snprintf(cred, sizeof(cred), "%s/mqtt-password", T.creds_dir);
		if (!check(mkdir(T.creds_dir, 0700) == 0 &&
				   file_write(cred, "right-s3cret\n", 0400),
			   "credential written"))
			return;
	}
	if (!check(config_write(brokers, "  username = \"gpio\";\n"), "config without password") ||
	    !check(daemon_start(true), "daemon starts with the credential"))
		return;
	log_wait(needle, 1, TIMEOUT_MS, "systemd credential");
	check(file_count(T.daemon_err, "s3cret") == 0, "the credential is never logged");
	check(daemon_stop(), "credential: clean stop");
}

/* ---- failover ---------------------------------------------------------------------------- */

static void scenario_failover(void)
{
	char brokers[256], a[100], b[100], needle[128];
	size_t c = 0;

	/* The first broker is down at start: the second is used. */
	broker_entry(a, sizeof(a), T.brokers[0].port);
	broker_entry(b, sizeof(b), T.brokers[1].port);
	snprintf(brokers, sizeof(brokers), "%s, %s", a, b);
	snprintf(T.brokers[1].extra, sizeof(T.brokers[1].extra), "allow_anonymous true\n");
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra), "allow_anonymous true\n");
	if (!check(broker_start(1, NULL, 0), "second broker starts") ||
	    !check(watch_start(T.brokers[1].port), "watcher on the second broker") ||
	    !check(config_write(brokers, NULL), "config with two brokers") ||
	    !check(daemon_start(true), "daemon starts"))
		return;
	snprintf(needle, sizeof(needle), "cannot connect to 127.0.0.1:%d", T.brokers[0].port);
	log_wait(needle, 1, TIMEOUT_MS, "first broker down");
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d", T.brokers[1].port);
	log_wait(needle, 1, RECONNECT_TIMEOUT_MS, "the second broker is used");
	status_wait(needle, TIMEOUT_MS, "the second broker is used");
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "states on the second broker");
	check(daemon_stop(), "clean stop");
	watch_stop();

	/* Both up: the first is used; killed while connected, the daemon moves to the second
	 * and republishes every state there. */
	if (!check(broker_start(0, NULL, 0), "first broker starts") ||
	    !check(daemon_start(true), "daemon restarts"))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d", T.brokers[0].port);
	log_wait(needle, 1, TIMEOUT_MS, "the first broker is used");
	gpio("sw", 1);
	expect_retained(T.brokers[0].port, "sw", "ON", TIMEOUT_MS, "on the first broker");
	/* The second broker is cleared of the earlier run's retained states. */
	broker_stop(1, SIGKILL);
	if (!check(broker_start(1, NULL, 0), "second broker restarted empty"))
		return;
	gpio("sw", 0);
	expect_retained(T.brokers[0].port, "sw", "OFF", TIMEOUT_MS, "on the first broker");
	broker_stop(0, SIGKILL);
	gpio("sw", 1);
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d", T.brokers[1].port);
	log_wait(needle, 1, RECONNECT_TIMEOUT_MS, "moved to the second broker");
	status_wait(needle, TIMEOUT_MS, "moved to the second broker");
	expect_retained(T.brokers[1].port, "sw", "ON", TIMEOUT_MS,
			"the state changed while moving, republished on the second");
	expect_retained(T.brokers[1].port, "other", "OFF", TIMEOUT_MS, "every state republished");
	expect_retained(T.brokers[1].port, "status", "online", TIMEOUT_MS, "online there");
	daemon_alive("after the failover");
}

/* ---- restart storm ----------------------------------------------------------------------- */

static void scenario_restart_storm(void)
{
	unsigned int seed = (unsigned int)getpid();
	int level = 0, cheap = 0;
	bool ok = true;

	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra), "allow_anonymous true\n");
	if (!start_plain(NULL, false))
		return;
	expect_retained(T.brokers[0].port, "sw", "OFF", TIMEOUT_MS, "start");
	for (int i = 0; i < 20 && ok; i++) {
		int changes = (int)(rand_r(&seed) % 4);

		broker_stop(0, i % 2 ? SIGKILL : SIGTERM);
		for (int k = 0; k < changes; k++) {
			level = !level;
			gpio("sw", level);
			cheap = !cheap; /* QoS 0 states are kept too */
			gpio("cheap", cheap);
		}
		ok = check(broker_start(0, NULL, 0), "restart %d: broker up", i + 1);
		if (!ok)
			break;
		ok = expect_retained(T.brokers[0].port, "sw", level ? "ON" : "OFF",
				     RECONNECT_TIMEOUT_MS, "restart") &&
		     expect_retained(T.brokers[0].port, "cheap", cheap ? "ON" : "OFF",
				     TIMEOUT_MS, "restart (QoS 0)");
		/* And a change while connected. */
		level = !level;
		gpio("sw", level);
		ok = ok && expect_retained(T.brokers[0].port, "sw", level ? "ON" : "OFF", TIMEOUT_MS,
					   "connected");
		ok = daemon_alive("restart storm") && ok;
	}
	if (!ok)
		daemon_dump();
}

/* ---- offline burst ----------------------------------------------------------------------- */

static long proc_kb(const char *field)
{
	char path[64], *text, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)T.daemon);
	text = file_read(path);
	if (text && (p = strstr(text, field)))
		sscanf(p + strlen(field), ": %ld", &kb);
	free(text);
	return kb;
}

/* Waits until the double has reported N events. */
static bool events_wait(int n)
{
	char path[PATH_LEN + 16];

	snprintf(path, sizeof(path), "%s/events.log", T.gpio_dir);
	return file_wait_count(path, "lost=", n, 60000);
}

static void scenario_offline_burst(void)
{
	const int burst = 5000, presses = 200, keep = 50;
	long rss0, hwm[3] = { -1, -1, -1 };
	int events = 0, level = 0;
	size_t c;
	char extra[64];

	/* The watcher's session and its queue survive the broker's restart (persistence, clean
	 * stop), so the events published the moment the daemon is back are not missed. */
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous true\npersistence true\npersistence_location %s/\n", T.tmp);
	W.persistent = true;
	snprintf(extra, sizeof(extra), "  offline_events = %d;\n", keep);
	if (!start_plain(extra, false))
		return;
	c = 0;
	check(watch_wait(&c, "sw", "OFF", TIMEOUT_MS), "connected");
	watch_stop();
	broker_stop(0, SIGTERM);
	log_wait("connection to 127.0.0.1", 1, TIMEOUT_MS, "broker gone");
	rss0 = proc_kb("VmRSS");

	/* Three bursts: once the first has warmed up the allocator, the later ones must not grow
	 * memory. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < burst; i++) {
			level = !level;
			gpio("sw", level);
			gpio("btn", i % 2 == 0);
			events += 2;
		}
		for (int i = 0; i < presses; i++) {
			gpio("btn", 1);
			gpio("btn", 0);
			events += 2;
		}
		check(events_wait(events), "round %d: the daemon took all %d edges", round + 1,
		      events);
		hwm[round] = proc_kb("VmHWM");
	}
	diag("VmRSS before %ld kB, VmHWM after each burst %ld, %ld, %ld kB", rss0, hwm[0], hwm[1],
	     hwm[2]);
	check(rss0 > 0 && hwm[0] - rss0 < 4096, "memory bounded during the first burst (+%ld kB)",
	      hwm[0] - rss0);
	{
		/* AddressSanitizer's allocator does not reuse freed blocks at once: allow it more
		 * (a leak of the held events would still show as megabytes). */
		char maps[64], *text;
		bool asan;

		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)T.daemon);
		text = file_read(maps);
		asan = text && strstr(text, "libasan");
		free(text);
		check(hwm[2] - hwm[1] < (asan ? 1536 : 512),
		      "no growth with the third burst (+%ld kB%s)", hwm[2] - hwm[1],
		      asan ? ", AddressSanitizer" : "");
	}
	log_wait("offline queue full (offline_events = 50)", 1, TIMEOUT_MS, "overflow logged");
	check(file_count(T.daemon_err, "offline queue full") == 1, "overflow logged once");

	/* Back: the latest states, then the last KEEP events in order. */
	if (!check(broker_start(0, NULL, 0), "broker back") ||
	    !check(watch_start(T.brokers[0].port), "watcher subscribed"))
		return;
	expect_retained(T.brokers[0].port, "sw", level ? "ON" : "OFF", RECONNECT_TIMEOUT_MS,
			"the latest state after reconnect");
	{
		/* Events published by the burst: every btn release is a single press; JSON
		 * carries the sequence number, so the kept ones are the last KEEP. */
		int total = 3 * (burst / 2 + presses), got = 0; /* single presses in 3 rounds */
		long last_seq = 0;
		bool in_order = true;
		int64_t deadline = now_ms() + TIMEOUT_MS;
		char topic[256];

		snprintf(topic, sizeof(topic), "%s/btn/event", T.base);
		while (now_ms() < deadline && got < keep) {
			got = 0;
			pthread_mutex_lock(&W.lock);
			for (size_t i = 0; i < W.n; i++) {
				const char *s;
				long seq;

				if (strcmp(W.msgs[i].topic, topic) != 0)
					continue;
				s = strstr(W.msgs[i].payload, "\"seq\":");
				seq = s ? atol(s + 6) : -1;
				if (got && seq != last_seq + 1)
					in_order = false;
				last_seq = seq;
				got++;
			}
			pthread_mutex_unlock(&W.lock);
			if (got < keep)
				pause_ms(20);
		}
		check(got == keep, "the last %d events arrive (got %d)", keep, got);
		check(in_order, "in order, none missing between them");
		check(last_seq == total, "the newest event is the last one (seq %ld of %d)",
		      last_seq, total);
		log_wait("events were lost while offline (offline_events = 50", 1, TIMEOUT_MS,
			 "the loss is logged");
	}
	daemon_alive("after the burst");
}

/* ---- main -------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(void);
	bool needs_openssl;
} scenarios[] = {
	{ "acl-v5", scenario_acl_v5, false },
	{ "acl-v311", scenario_acl_v311, false },
	{ "tls", scenario_tls, true },
	{ "tls-client-cert", scenario_tls_client_cert, true },
	{ "tls-late", scenario_tls_late, true },
	{ "credentials", scenario_credentials, false },
	{ "failover", scenario_failover, false },
	{ "restart-storm", scenario_restart_storm, false },
	{ "offline-burst", scenario_offline_burst, false },
};

int main(int argc, char **argv)
{
	pthread_t sig_thread;

	if (argc != 6) {
		fprintf(stderr,
			"usage: %s SCENARIO DAEMON MOSQUITTO MOSQUITTO_PASSWD OPENSSL|-\n",
			argv[0]);
		return 2;
	}
	T.scenario = argv[1];
	T.daemon_path = argv[2];
	T.mosquitto_path = argv[3];
	T.passwd_path = argv[4];
	T.openssl_path = argv[5];
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&fatal_signals);
	sigaddset(&fatal_signals, SIGTERM);
	sigaddset(&fatal_signals, SIGINT);
	sigaddset(&fatal_signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &fatal_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&sig_thread, NULL, signal_thread, NULL);
	mosquitto_lib_init();

	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(scenarios[i].name, T.scenario) != 0)
			continue;
		if (scenarios[i].needs_openssl && strcmp(T.openssl_path, "-") == 0) {
			printf("1..0 # SKIP openssl not found\n");
			return 0;
		}
		if (!setup()) {
			printf("Bail out! cannot set up the test directory: %s\n", strerror(errno));
			cleanup();
			return 1;
		}
		scenarios[i].fn();
		cleanup();
		mosquitto_lib_cleanup();
		printf("1..%u\n", tap_count);
		return tap_failed ? 1 : 0;
	}
	fprintf(stderr, "unknown scenario '%s'\n", T.scenario);
	return 2;
}
