/* SPDX-License-Identifier: MIT */
/* The integration harness: see harness.h. */

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct harness H;

/* ---- time, files ------------------------------------------------------------------------- */

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pause_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *file_read(const char *path, size_t *len)
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
	if (len)
		*len = n;
	return buf;
}

bool file_write_mode(const char *path, const char *text, mode_t mode)
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

bool file_write(const char *path, const char *text)
{
	return file_write_mode(path, text, 0644);
}

bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

int file_count(const char *path, const char *needle)
{
	char *text = file_read(path, NULL), *p;
	int n = 0;

	if (!text)
		return 0;
	for (p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(text);
	return n;
}

bool file_wait_count(const char *path, const char *needle, int want, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	do {
		if (file_count(path, needle) >= want)
			return true;
		pause_ms(20);
	} while (now_ms() < deadline);
	return false;
}

static int rmtree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void rmtree(const char *path)
{
	nftw(path, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void dump_file(const char *title, const char *path, unsigned int max_lines)
{
	char *text = file_read(path, NULL), *save = NULL;
	unsigned int total = 0, skip, i = 0;

	if (!text) {
		tap_diag("%s: (no file)", title);
		return;
	}
	for (char *p = text; *p; p++)
		total += *p == '\n';
	skip = total > max_lines ? total - max_lines : 0;
	tap_diag("%s (%u lines%s):", title, total, skip ? ", the last ones" : "");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (i++ >= skip)
			tap_diag("  | %s", line);
	free(text);
}

void path_in(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_LEN, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_LEN)
		abort(); /* TMPDIR absurdly long */
}

void tmp_path(char *buf, const char *name)
{
	path_in(buf, H.tmp, name);
}

const char *show(const char *p, size_t len, char *buf, size_t size)
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

/* ---- children ---------------------------------------------------------------------------- */

#define MAX_CHILDREN 16

static volatile pid_t *children[MAX_CHILDREN];
static size_t n_children;
static sigset_t fatal_signals;

void child_track(volatile pid_t *pid)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i] == pid)
			return;
	if (n_children == MAX_CHILDREN)
		abort();
	children[n_children++] = pid;
}

/* Signals are blocked in every thread; this one waits for them, so the clean-up runs in an
 * ordinary context (meson's timeout sends SIGTERM). */
static void *signal_thread(void *arg)
{
	int sig = 0;

	sigwait(&fatal_signals, &sig);
	for (size_t i = 0; i < n_children; i++)
		if (*children[i] > 0)
			kill(*children[i], SIGKILL);
	printf("Bail out! killed by signal %d\n", sig);
	fflush(stdout);
	if (H.tmp[0] && !getenv("GPIO2MQTT_TEST_KEEP"))
		rmtree(H.tmp);
	_exit(99);
	return NULL;
}

extern char **environ;

static bool env_dropped(const char *var, const char *const extra[])
{
	/* systemd's, and the test double's and the daemon's test hooks */
	static const char *const drop[] = { "JOURNAL_STREAM=",
					    "NOTIFY_SOCKET=",
					    "WATCHDOG_USEC=",
					    "WATCHDOG_PID=",
					    "LISTEN_FDS=",
					    "LISTEN_PID=",
					    "STATE_DIRECTORY=",
					    "CREDENTIALS_DIRECTORY=",
					    "GPIO2MQTT_TEST_GPIO_DIR=",
					    "GPIO2MQTT_MACHINE_ID_FILE=" };

	for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
		if (strncmp(var, drop[d], strlen(drop[d])) == 0)
			return true;
	for (; extra && *extra; extra++) {
		const char *eq = strchr(*extra, '=');
		size_t n = eq ? (size_t)(eq - *extra) + 1 : strlen(*extra);

		if (strncmp(var, *extra, n) == 0)
			return true;
	}
	return false;
}

pid_t spawn(char *const argv[], const char *out, const char *err, const char *const env_extra[])
{
	size_t n = 0, o = 0, n_extra = 0;
	pid_t parent = getpid(), pid;
	char **env;

	/* The environment is built before fork: the child of a threaded process should call
	 * nothing but async-signal-safe functions. */
	while (environ[n])
		n++;
	while (env_extra && env_extra[n_extra])
		n_extra++;
	env = calloc(n + n_extra + 1, sizeof(*env));
	if (!env)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!env_dropped(environ[i], env_extra))
			env[o++] = environ[i];
	for (size_t i = 0; i < n_extra; i++)
		env[o++] = (char *)env_extra[i];
	env[o] = NULL;
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		int in, fo, fe;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		in = open("/dev/null", O_RDONLY);
		fo = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
		fe = err ? open(err, O_WRONLY | O_CREAT | O_APPEND, 0644) : fo;
		if (in < 0 || fo < 0 || fe < 0)
			_exit(127);
		dup2(in, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	return pid < 0 ? -1 : pid;
}

bool child_wait(pid_t pid, int timeout_ms, int *status)
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

bool child_alive(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == 0;
}

void child_kill(volatile pid_t *pid, int sig)
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

const char *status_str(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "wait status 0x%x", status);
	return buf;
}

bool run_tool(char *const argv[], const char *log)
{
	pid_t pid = spawn(argv, log, NULL, NULL);
	int status;

	if (pid < 0 || !child_wait(pid, 30000, &status))
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- brokers ----------------------------------------------------------------------------- */

int free_port(void)
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

bool port_accepts(int port)
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

bool broker_start(struct broker *b, const char *name, const char *extra, const int *more_ports,
		  size_t n_more)
{
	char file[64], text[8192];
	char *argv[] = { (char *)H.mosquitto_path, (char *)"-c", b->conf, NULL };
	const char *split;
	int64_t deadline;
	int status;

	if (!extra)
		extra = "";
	snprintf(file, sizeof(file), "%s.conf", name);
	tmp_path(b->conf, file);
	snprintf(file, sizeof(file), "%s.log", name);
	tmp_path(b->log, file);
	/* The extra lines may define listeners; the global ones must come first. */
	split = strstr(extra, "listener");
	if (!split)
		split = extra + strlen(extra);
	snprintf(text, sizeof(text),
		 "persistence false\n"
		 "user root\n"
		 "log_dest stderr\n"
		 "log_type all\n"
		 "%.*s"
		 "listener %d 127.0.0.1\n"
		 "%s",
		 (int)(split - extra), extra, b->port, split);
	if (!file_write(b->conf, text))
		return false;
	child_track(&b->pid);
	b->pid = spawn(argv, b->log, NULL, NULL);
	if (b->pid < 0) {
		b->pid = 0;
		return false;
	}
	deadline = now_ms() + TIMEOUT_MS;
	while (now_ms() < deadline) {
		bool all = port_accepts(b->port);

		for (size_t k = 0; k < n_more && all; k++)
			all = port_accepts(more_ports[k]);
		if (!child_alive(b->pid, &status)) {
			char buf[64];

			tap_diag("mosquitto on port %d: %s", b->port,
				 status_str(status, buf, sizeof(buf)));
			dump_file("its log", b->log, 30);
			b->pid = 0;
			return false;
		}
		if (all)
			return true;
		pause_ms(20);
	}
	tap_diag("mosquitto does not accept connections on port %d", b->port);
	return false;
}

bool broker_start_free(struct broker *b, const char *name, const char *extra)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (attempt > 0)
			tap_diag("retrying with another port");
		b->port = free_port();
		if (b->port <= 0)
			return false;
		if (broker_start(b, name, extra, NULL, 0))
			return true;
		child_kill(&b->pid, SIGKILL);
	}
	return false;
}

/* ---- the watcher ------------------------------------------------------------------------- */

static struct {
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct msg *msgs;
	size_t n, cap;
	unsigned int subacks;
	int acked[64]; /* ring of mids acknowledged (PUBACK) */
	unsigned int n_acked;
	struct watch_opts opts;
	char sub[256];
} W = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void watch_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
			     const mosquitto_property *props)
{
	if (rc == 0)
		mosquitto_subscribe_v5(mosq, NULL, W.sub, 1,
				       W.opts.v311 ? 0 : MQTT_SUB_OPT_RETAIN_AS_PUBLISHED, NULL);
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

static struct msg msg_copy(const struct mosquitto_message *m)
{
	struct msg msg = { .topic = strdup(m->topic), .retain = m->retain };

	msg.len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	msg.payload = malloc(msg.len + 1);
	if (!msg.topic || !msg.payload)
		abort();
	if (msg.len)
		memcpy(msg.payload, m->payload, msg.len);
	msg.payload[msg.len] = '\0';
	return msg;
}

static void msgs_append(struct msg **msgs, size_t *n, size_t *cap, struct msg msg)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct msg *nm = realloc(*msgs, nc * sizeof(*nm));

		if (!nm)
			abort();
		*msgs = nm;
		*cap = nc;
	}
	(*msgs)[(*n)++] = msg;
}

static void watch_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
			     const mosquitto_property *props)
{
	struct msg msg = msg_copy(m);

	pthread_mutex_lock(&W.lock);
	msgs_append(&W.msgs, &W.n, &W.cap, msg);
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

unsigned int watch_subacks(void)
{
	unsigned int n;

	pthread_mutex_lock(&W.lock);
	n = W.subacks;
	pthread_mutex_unlock(&W.lock);
	return n;
}

bool watch_wait_subacks(unsigned int want, int timeout_ms)
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

bool watch_start(const struct watch_opts *o)
{
	int rc;

	W.opts = *o;
	snprintf(W.sub, sizeof(W.sub), "%s", o->sub);
	W.mosq = mosquitto_new(o->id, !o->keep_session, NULL);
	if (!W.mosq)
		return false;
	mosquitto_int_option(W.mosq, MOSQ_OPT_PROTOCOL_VERSION,
			     o->v311 ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5);
	if (H.client_user)
		mosquitto_username_pw_set(W.mosq, H.client_user, H.client_pass);
	mosquitto_connect_v5_callback_set(W.mosq, watch_on_connect);
	mosquitto_subscribe_v5_callback_set(W.mosq, watch_on_subscribe);
	mosquitto_publish_v5_callback_set(W.mosq, watch_on_publish);
	mosquitto_message_v5_callback_set(W.mosq, watch_on_message);
	mosquitto_reconnect_delay_set(W.mosq, 1, 1, false);
	W.subacks = 0;
	W.n_acked = 0; /* a new client numbers its messages from 1 again */
	rc = mosquitto_connect(W.mosq, "127.0.0.1", o->port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		tap_diag("watcher: connect to 127.0.0.1:%d: %s", o->port, mosquitto_strerror(rc));
		return false;
	}
	rc = mosquitto_loop_start(W.mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		tap_diag("watcher: loop_start: %s", mosquitto_strerror(rc));
		return false;
	}
	if (!watch_wait_subacks(1, TIMEOUT_MS)) {
		tap_diag("watcher: no SUBACK for %s", W.sub);
		return false;
	}
	return true;
}

void watch_stop(void)
{
	if (!W.mosq)
		return;
	mosquitto_disconnect(W.mosq);
	mosquitto_loop_stop(W.mosq, true);
	mosquitto_destroy(W.mosq);
	W.mosq = NULL;
}

static void watch_free(void)
{
	for (size_t i = 0; i < W.n; i++) {
		free(W.msgs[i].topic);
		free(W.msgs[i].payload);
	}
	free(W.msgs);
	W.msgs = NULL;
	W.n = W.cap = 0;
}

size_t watch_mark(void)
{
	size_t n;

	pthread_mutex_lock(&W.lock);
	n = W.n;
	pthread_mutex_unlock(&W.lock);
	return n;
}

bool watch_at(size_t i, struct msg *out)
{
	bool ok;

	pthread_mutex_lock(&W.lock);
	ok = i < W.n;
	if (ok)
		*out = W.msgs[i];
	pthread_mutex_unlock(&W.lock);
	return ok;
}

static long find_locked(size_t from, size_t to, const char *topic, const char *payload)
{
	for (size_t i = from; i < W.n && i < to; i++)
		if (strcmp(W.msgs[i].topic, topic) == 0 &&
		    (!payload || strcmp(W.msgs[i].payload, payload) == 0))
			return (long)i;
	return -1;
}

long watch_wait(size_t from, const char *topic, const char *payload, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	long idx;

	pthread_mutex_lock(&W.lock);
	while ((idx = find_locked(from, SIZE_MAX, topic, payload)) < 0 &&
	       watch_wait_locked(deadline))
		;
	pthread_mutex_unlock(&W.lock);
	return idx;
}

bool watch_next(size_t *cursor, const char *topic, int timeout_ms, struct msg *out)
{
	long i = watch_wait(*cursor, topic, NULL, timeout_ms);

	if (i < 0 || !watch_at((size_t)i, out))
		return false;
	*cursor = (size_t)i + 1;
	return true;
}

long watch_find(size_t from, size_t to, const char *topic, const char *payload)
{
	long idx;

	pthread_mutex_lock(&W.lock);
	idx = find_locked(from, to, topic, payload);
	pthread_mutex_unlock(&W.lock);
	return idx;
}

void watch_dump(size_t from, size_t to, const char *prefix)
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
			tap_diag("  ...");
			break;
		}
		tap_diag("  seen %zu: %s %s%s", i, W.msgs[i].topic,
			 show(W.msgs[i].payload, W.msgs[i].len, buf, sizeof(buf)),
			 W.msgs[i].retain ? " (retained)" : "");
	}
	if (shown == 0)
		tap_diag("  seen: nothing");
	pthread_mutex_unlock(&W.lock);
}

bool watch_publish(const char *topic, const void *payload, size_t len, bool retain)
{
	int mid = 0, rc;
	int64_t deadline;
	bool acked = false;

	rc = mosquitto_publish_v5(W.mosq, &mid, topic, (int)len, payload, 1, retain, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		tap_ok(false, "publish %s", topic);
		tap_diag("mosquitto_publish: %s", mosquitto_strerror(rc));
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
	if (!acked)
		return tap_ok(false, "publish %s: PUBACK", topic);
	return true;
}

/* ---- what a broker has retained ---------------------------------------------------------- */

struct fetch {
	struct snapshot *s;
	char fence[128];
	bool connected, fenced;
};

static void fetch_on_connect(struct mosquitto *m, void *obj, int rc)
{
	((struct fetch *)obj)->connected = rc == 0;
}

static void fetch_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
	struct fetch *f = obj;

	mosquitto_publish(m, NULL, f->fence, 1, "x", 1, false);
}

static void fetch_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct fetch *f = obj;

	if (strcmp(msg->topic, f->fence) == 0)
		f->fenced = true;
	else if (msg->retain && !f->fenced)
		msgs_append(&f->s->items, &f->s->n, &f->s->cap, msg_copy(msg));
}

bool snapshot_take(int port, const char *pattern, struct snapshot *s)
{
	static unsigned int seq;
	struct fetch f = { .s = s };
	const char *subs[2] = { pattern, f.fence };
	int64_t deadline = now_ms() + TIMEOUT_MS;
	struct mosquitto *m;
	char id[64];

	memset(s, 0, sizeof(*s));
	snprintf(id, sizeof(id), "g2m-fetch-%ld-%u", (long)getpid(), ++seq);
	snprintf(f.fence, sizeof(f.fence), "g2m-fence/%s", id);
	m = mosquitto_new(id, true, &f);
	if (!m)
		return false;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	if (H.client_user)
		mosquitto_username_pw_set(m, H.client_user, H.client_pass);
	mosquitto_connect_callback_set(m, fetch_on_connect);
	mosquitto_subscribe_callback_set(m, fetch_on_subscribe);
	mosquitto_message_callback_set(m, fetch_on_message);
	if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS)
		goto destroy;
	while (!f.connected && now_ms() < deadline)
		if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
			goto destroy;
	if (!f.connected ||
	    mosquitto_subscribe_multiple(m, NULL, 2, (char *const *)subs, 1, 0, NULL) != 0)
		goto destroy;
	while (!f.fenced && now_ms() < deadline)
		if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
			goto destroy;
	mosquitto_disconnect(m);
destroy:
	mosquitto_destroy(m);
	if (!f.fenced)
		snapshot_free(s);
	return f.fenced;
}

const struct msg *snapshot_find(const struct snapshot *s, const char *topic)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].topic, topic) == 0)
			return &s->items[i];
	return NULL;
}

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].topic);
		free(s->items[i].payload);
	}
	free(s->items);
	memset(s, 0, sizeof(*s));
}

/* ---- main -------------------------------------------------------------------------------- */

int harness_main(int argc, char **argv, const struct harness_program *p)
{
	const char *tmpdir = getenv("TMPDIR");
	void (*fn)(void) = NULL;
	pthread_t sig_thread;
	const char *why;
	int rc;

	if (argc != 4 + p->n_args) {
		fprintf(stderr, "usage: %s SCENARIO DAEMON MOSQUITTO%s%s\n", argv[0],
			p->n_args ? " " : "", p->n_args ? p->usage_args : "");
		return 2;
	}
	H.scenario = argv[1];
	H.daemon_path = argv[2];
	H.mosquitto_path = argv[3];
	H.args = argv + 4;
	for (size_t i = 0; i < p->n_scenarios; i++)
		if (strcmp(p->scenarios[i].name, H.scenario) == 0)
			fn = p->scenarios[i].fn;
	if (!fn) {
		fprintf(stderr, "unknown scenario '%s'\n", H.scenario);
		return 2;
	}
	if (access(H.mosquitto_path, X_OK) < 0) {
		printf("1..0 # SKIP %s not found\n", H.mosquitto_path);
		return 0;
	}
	why = p->skip ? p->skip() : NULL;
	if (why) {
		printf("1..0 # SKIP %s\n", why);
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

	printf("# scenario %s\n", H.scenario);
	snprintf(H.tmp, sizeof(H.tmp), "%s/%s-%s-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp",
		 p->tmp_prefix, H.scenario);
	if (!mkdtemp(H.tmp)) {
		H.tmp[0] = '\0';
		tap_ok(false, "create a temporary directory");
	} else if (p->setup && !p->setup()) {
		printf("Bail out! cannot set up the test directory: %s\n", strerror(errno));
		tap_ok(false, "set-up");
	} else {
		fn();
		if (p->finish)
			p->finish();
	}

	if (p->cleanup)
		p->cleanup();
	watch_stop();
	for (size_t i = 0; i < n_children; i++)
		child_kill(children[i], SIGKILL);
	watch_free();
	mosquitto_lib_cleanup();
	if (H.tmp[0]) {
		if (getenv("GPIO2MQTT_TEST_KEEP"))
			tap_diag("kept %s", H.tmp);
		else
			rmtree(H.tmp);
	}
	rc = tap_done();
	return rc;
}
