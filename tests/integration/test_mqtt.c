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


#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Paths and topics here are short; a truncated one would fail its check visibly. */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define RECONNECT_TIMEOUT_MS 15000
#define MAX_BROKERS 3

/* ---- the world --------------------------------------------------------------------------- */

struct mqtt_broker {
	int port;
	char extra[2048]; /* more mosquitto.conf lines */
	struct broker b;
};

static struct {
	const char *passwd_path;
	const char *openssl_path;
	char gpio_dir[PATH_LEN];
	char config[PATH_LEN];
	char daemon_err[PATH_LEN];
	char notify_path[PATH_LEN];
	char creds_dir[PATH_LEN]; /* CREDENTIALS_DIRECTORY for the daemon, or empty */
	char cert_file[PATH_LEN]; /* SSL_CERT_FILE for the daemon (its "system" store), or empty */
	char base[128];
	int notify_fd;
	int fifo;
	int daemon_runs;
	char status[1024]; /* the last STATUS= */
	struct mqtt_broker brokers[MAX_BROKERS];
	volatile pid_t daemon;
} T = { .notify_fd = -1, .fifo = -1 };

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static char status_seen[1024];

/* ---- brokers ----------------------------------------------------------------------------- */

/* Starts broker I on its port (plain listener) with its extra lines; waits until it accepts
 * connections on every listener it has (the extra lines' listeners are listed in PORTS). */
static bool broker_up(int i, const int *more_ports, size_t n_more)
{
	struct mqtt_broker *mb = &T.brokers[i];
	char name[32];

	snprintf(name, sizeof(name), "mosquitto-%d", i);
	mb->b.port = mb->port;
	return broker_start(&mb->b, name, mb->extra, more_ports, n_more);
}

static void broker_stop(int i, int sig)
{
	child_kill(&T.brokers[i].b.pid, sig);
}

/* ---- MQTT clients of the test ------------------------------------------------------------ */

/* Waits until the retained message of PIN's state at broker PORT is WANT. */
static bool retained_wait(int port, const char *pin, const char *want, int timeout_ms,
			  char *last, size_t size)
{
	int64_t deadline = now_ms() + timeout_ms;
	char topic[256];

	snprintf(topic, sizeof(topic), "%s/%s", T.base, pin);
	snprintf(last, size, "(nothing)");
	do {
		struct snapshot s;

		if (snapshot_take(port, topic, &s)) {
			const struct msg *m = snapshot_find(&s, topic);
			bool same = m && strcmp(m->payload, want) == 0;

			snprintf(last, size, "%s", m ? m->payload : "(no retained message)");
			snapshot_free(&s);
			if (same)
				return true;
		}
		pause_ms(50);
	} while (now_ms() < deadline);
	return false;
}

static bool expect_retained(int port, const char *pin, const char *want, int timeout_ms,
			    const char *why)
{
	char last[512];
	bool ok = retained_wait(port, pin, want, timeout_ms, last, sizeof(last));

	tap_ok(ok, "%s: retained %s/%s is %s", why, T.base, pin, want);
	if (!ok)
		tap_diag("last seen: %s", last);
	return ok;
}

/* The watcher: every message under <base>/# at one broker, in order, over MQTT 3.1.1. */
static bool watch_persistent; /* a session the broker keeps (and queues for) while we are away */

static bool watch_up(int port)
{
	char sub[160];
	const struct watch_opts o = { .port = port,
				      .sub = sub,
				      .id = "watcher",
				      .v311 = true,
				      .keep_session = watch_persistent };

	snprintf(sub, sizeof(sub), "%s/#", T.base);
	return watch_start(&o);
}

/* Waits for a message on <base>/SUFFIX with PAYLOAD (NULL: any) at index >= *CURSOR; moves the
 * cursor past it. */
static bool watch_for(size_t *cursor, const char *suffix, const char *payload, int timeout_ms)
{
	char topic[256];
	long i;

	snprintf(topic, sizeof(topic), "%s/%s", T.base, suffix);
	i = watch_wait(*cursor, topic, payload, timeout_ms);
	if (i >= 0) {
		*cursor = (size_t)i + 1;
		return true;
	}
	tap_diag("no %s %s from message %zu on; the watcher has:", topic, payload ? payload : "",
		 *cursor);
	watch_dump(0, SIZE_MAX, NULL);
	return false;
}

/* ---- the daemon -------------------------------------------------------------------------- */

/* Config pieces: BROKERS is the inside of brokers = ( ... ); MQTT_EXTRA more mqtt lines; TOP
 * more top-level settings. */
static bool config_write_top(const char *brokers, const char *mqtt_extra, const char *top)
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
		 ");\n"
		 "%s",
		 brokers, H.scenario, (int)getpid(), T.base, mqtt_extra ? mqtt_extra : "",
		 top ? top : "");
	return file_write(T.config, text);
}

static bool config_write(const char *brokers, const char *mqtt_extra)
{
	return config_write_top(brokers, mqtt_extra, NULL);
}

static void broker_entry(char *buf, size_t size, int port)
{
	snprintf(buf, size, "{ host = \"127.0.0.1\"; port = %d; }", port);
}

/* The daemon with the double's directory, NOTIFY_SOCKET and CREDENTIALS_DIRECTORY. */
static bool daemon_start(bool debug)
{
	char name[64];
	char *argv[] = { (char *)H.daemon_path, (char *)"-c", T.config,
			 debug ? (char *)"-d" : NULL, NULL };
	char requested[PATH_LEN + 16], input[PATH_LEN + 16];
	char vars[5][PATH_LEN + 32];
	const char *env[6] = { vars[0], vars[1], vars[2], NULL, NULL, NULL };
	size_t n_env = 3;
	const char *asan = getenv("ASAN_OPTIONS");
	int64_t deadline = now_ms() + TIMEOUT_MS;

	T.daemon_runs++;
	snprintf(name, sizeof(name), "daemon-%d.log", T.daemon_runs);
	tmp_path(T.daemon_err, name);
	snprintf(requested, sizeof(requested), "%s/requested", T.gpio_dir);
	snprintf(input, sizeof(input), "%s/input", T.gpio_dir);
	snprintf(vars[0], sizeof(vars[0]), "GPIO2MQTT_TEST_GPIO_DIR=%s", T.gpio_dir);
	snprintf(vars[1], sizeof(vars[1]), "NOTIFY_SOCKET=%s", T.notify_path);
	/* Under AddressSanitizer freed memory sits in a quarantine of 256 MB, which would read as
	 * growth in the memory checks; a small one keeps them meaningful. */
	snprintf(vars[2], sizeof(vars[2]), "ASAN_OPTIONS=%s%squarantine_size_mb=1",
		 asan ? asan : "", asan ? ":" : "");
	if (T.creds_dir[0]) {
		snprintf(vars[n_env], sizeof(vars[n_env]), "CREDENTIALS_DIRECTORY=%s", T.creds_dir);
		env[n_env] = vars[n_env];
		n_env++;
	}
	if (T.cert_file[0]) {
		snprintf(vars[n_env], sizeof(vars[n_env]), "SSL_CERT_FILE=%s", T.cert_file);
		env[n_env] = vars[n_env];
		n_env++;
	}
	unlink(requested);
	pthread_mutex_lock(&status_lock);
	status_seen[0] = '\0';
	pthread_mutex_unlock(&status_lock);
	child_track(&T.daemon);
	T.daemon = spawn(argv, T.daemon_err, NULL, env);
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
	dump_file("daemon log", T.daemon_err, 80);
}

static bool daemon_alive_quiet(void)
{
	int status;

	return T.daemon > 0 && child_alive(T.daemon, &status);
}

static bool daemon_alive(const char *why)
{
	int status;
	bool alive = T.daemon > 0 && child_alive(T.daemon, &status);
	char buf[64];

	if (!tap_ok(alive, "%s: the daemon is running", why)) {
		if (T.daemon > 0)
			tap_diag("%s", status_str(status, buf, sizeof(buf)));
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

	if (!tap_ok(ok, "%s: the log has \"%s\"%s", why, needle, want > 1 ? " (repeatedly)" : ""))
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
	if (!tap_ok(ok, "%s: STATUS= has \"%s\"", why, needle))
		tap_diag("last STATUS=%s", T.status);
	return ok;
}

/* The number just before NEEDLE in the last STATUS= ("... 4 denied; ..."), or -1. */
static long status_number_before(const char *needle)
{
	const char *p = strstr(T.status, needle);

	if (!p || p == T.status || p[-1] < '0' || p[-1] > '9')
		return -1;
	while (p > T.status && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtol(p, NULL, 10);
}

/* ---- set-up ------------------------------------------------------------------------------ */

static bool setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t thread;

	T.passwd_path = H.args[0];
	T.openssl_path = H.args[1];
	/* The harness's clients log in where the brokers want a login. */
	H.client_user = "watcher";
	H.client_pass = "watcher-pw";
	tmp_path(T.gpio_dir, "gpio");
	tmp_path(T.config, "gpio2mqtt.conf");
	tmp_path(T.notify_path, "notify.sock");
	if (mkdir(T.gpio_dir, 0755) < 0)
		return false;
	snprintf(T.base, sizeof(T.base), "g2mtest/%s-%d", H.scenario, (int)getpid());
	T.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", T.notify_path);
	if (T.notify_fd < 0 || bind(T.notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return false;
	if (pthread_create(&thread, NULL, notify_thread, NULL) != 0)
		return false;
	pthread_detach(thread);
	for (int i = 0; i < MAX_BROKERS; i++)
		T.brokers[i].port = free_port();
	return true;
}

static void cleanup(void)
{
	if (T.fifo >= 0)
		close(T.fifo);
	if (T.notify_fd >= 0)
		shutdown(T.notify_fd, SHUT_RDWR);
}

/* The ordinary start: broker 0 up, the watcher on it, the daemon connected. */
static bool start_plain(const char *mqtt_extra, bool debug)
{
	char brokers[128];

	broker_entry(brokers, sizeof(brokers), T.brokers[0].port);
	return tap_ok(broker_up(0, NULL, 0), "broker starts") &&
	       tap_ok(watch_up(T.brokers[0].port), "watcher subscribed") &&
	       tap_ok(config_write(brokers, mqtt_extra), "config written") &&
	       tap_ok(daemon_start(debug), "daemon starts");
}

/* ---- scenarios --------------------------------------------------------------------------- */
/* ---- scenarios --------------------------------------------------------------------------- */

/* An ACL forbids publishing one state topic. Under v5 the refusal (PUBACK 0x87) is logged once
 * for that topic and counted in STATUS=; everything else keeps working. Under v3.1.1 the broker
 * cannot say so: nothing is logged. */
static void scenario_acl(bool v5)
{
	char acl[PATH_LEN], text[1024], needle[256];
	size_t c = 0;

	tmp_path(acl, "acl");
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
	if (!tap_ok(file_write_mode(acl, text, 0644), "ACL written"))
		return;
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous true\nacl_file %s\n", acl);
	if (!start_plain(v5 ? "  protocol = \"v5\";\n" : "  protocol = \"v3.1.1\";\n", true))
		return;
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "sw state arrives");
	snprintf(needle, sizeof(needle),
		 "refused the publish to %s/other: Not authorized (reason code 0x87)", T.base);
	if (v5)
		log_wait(needle, 1, TIMEOUT_MS, "the refusal of other's state at connect");
	/* Each of other's edges with a fence of its own: edges read in one go are one state per
	 * pin (the newest), and each of these must be a publish. */
	gpio("other", 1);
	gpio("sw", 1);
	tap_ok(watch_for(&c, "sw", "ON", TIMEOUT_MS), "sw still works (fence)");
	gpio("other", 0);
	gpio("sw", 0);
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "sw still works (second fence)");
	gpio("other", 1);
	gpio("sw", 1);
	tap_ok(watch_for(&c, "sw", "ON", TIMEOUT_MS), "sw still works (third fence)");
	if (v5) {
		/* Refused: other's state at connect and its three edges, plus other's state again
		 * on every reconnect (a slow machine, e.g. under ASan beside other jobs, can miss a
		 * keepalive): 3 + connections, read from the same STATUS= line. */
		int64_t deadline = now_ms() + TIMEOUT_MS;
		long denied, reconnects;
		bool counted = false;

		do {
			notify_drain();
			denied = status_number_before(" denied;");
			reconnects = status_number_before(" reconnects;");
			counted = reconnects >= 0 && denied == 3 + reconnects + 1;
			if (!counted)
				pause_ms(20);
		} while (!counted && now_ms() < deadline);
		if (!tap_ok(counted, "every refusal counted: %ld denied = 3 edges + %ld connection(s)",
			    denied, reconnects + 1))
			tap_diag("last STATUS=%s", T.status);
		tap_ok(strstr(T.status, "publishes refused by the broker") != NULL,
		       "STATUS= says publishes were refused by the broker");
		status_wait("config generation 1", TIMEOUT_MS, "health summary: config generation");
		tap_ok(file_count(T.daemon_err, needle) == 1,
		       "the refusal is logged once for the topic (logged %d times)",
		       file_count(T.daemon_err, needle));
	} else {
		/* The daemon handled the later sw edge, so the other edges were sent before. */
		tap_ok(file_count(T.daemon_err, "refused the publish") == 0,
		       "v3.1.1: nothing is logged about the refusal (brokers cannot tell)");
		notify_drain();
		tap_ok(strstr(T.status, "refused") == NULL, "v3.1.1: STATUS= counts nothing");
	}
	{
		char last[256];

		tap_ok(retained_wait(T.brokers[0].port, "other", "ON", 300, last, sizeof(last)) ==
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

	tmp_path(tls_dir, "tls");
	tmp_path(log, "openssl.log");
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
		char *text = file_read(log, NULL);

		tap_diag("openssl failed:\n%s", text ? text : "");
		free(text);
		return false;
	}
	return true;
}

/* Broker 0: plain listener (watcher), TLS on port 1 (server cert), TLS on port 2 (cert for
 * another host name), TLS with client certificates required on port 3. */
static int tls_ports[3];

static bool tls_broker_up(void)
{
	if (!tap_ok(tls_make(), "certificates made with openssl"))
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
	return tap_ok(broker_up(0, tls_ports, 3), "TLS broker starts") &&
	       tap_ok(watch_up(T.brokers[0].port), "watcher subscribed");
}

static bool tls_daemon(int port, const char *tls_group)
{
	char brokers[128], extra[1024];

	broker_entry(brokers, sizeof(brokers), port);
	snprintf(extra, sizeof(extra), "  tls = { %s };\n", tls_group);
	return tap_ok(config_write(brokers, extra), "config written") &&
	       tap_ok(daemon_start(true), "daemon starts");
}

static void scenario_tls(void)
{
	char group[1024], needle[128];
	size_t c = 0;

	if (!tls_broker_up())
		return;

	/* A good CA. */
	snprintf(group, sizeof(group), "ca_file = \"%s/ca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[0], group))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d over TLS", tls_ports[0]);
	log_wait(needle, 1, TIMEOUT_MS, "good CA");
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "good CA: the state arrives");
	status_wait(needle, TIMEOUT_MS, "good CA");
	gpio("sw", 1);
	tap_ok(watch_for(&c, "sw", "ON", TIMEOUT_MS), "good CA: an edge arrives");
	tap_ok(daemon_stop(), "good CA: clean stop");

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
	tap_ok(daemon_stop(), "wrong CA: clean stop");

	/* The right CA, but the certificate names another host: host name verification. */
	snprintf(group, sizeof(group), "ca_file = \"%s/ca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[1], group))
		return;
	log_wait("certificate verify failed", 1, TIMEOUT_MS, "certificate for another host");
	log_wait("mqtt: connecting to", 2, RECONNECT_TIMEOUT_MS, "another host: keeps trying");
	daemon_alive("another host");
	tap_ok(daemon_stop(), "another host: clean stop");

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
	tap_ok(daemon_stop(), "insecure: clean stop");
}

static void scenario_tls_client_cert(void)
{
	char group[1024], needle[128];
	size_t c;

	if (!tls_broker_up())
		return;
	/* Without a client certificate the broker hangs up in the handshake. */
	snprintf(group, sizeof(group), "ca_file = \"%s/ca.pem\";", tls_dir);
	if (!tls_daemon(tls_ports[2], group))
		return;
	log_wait("cannot connect to 127.0.0.1", 1, RECONNECT_TIMEOUT_MS, "no client certificate");
	log_wait("mqtt: connecting to", 2, RECONNECT_TIMEOUT_MS, "no client certificate: retries");
	daemon_alive("no client certificate");
	tap_ok(daemon_stop(), "no client certificate: clean stop");

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
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "client certificate: the state arrives");
	tap_ok(file_count(T.daemon_err, "key-s3cret") == 0, "the key password is not logged");
	tap_ok(daemon_stop(), "client certificate: clean stop");
}

/* A TLS broker that is down at the first connect (libmosquitto 2.0.21's loop_start thread dies
 * there): the daemon keeps trying and connects once it is up. */
static void scenario_tls_late(void)
{
	char group[1024], needle[128];
	size_t c = 0;

	tmp_path(tls_dir, "tls");
	for (int i = 0; i < 3; i++)
		tls_ports[i] = free_port();
	if (!tap_ok(tls_make(), "certificates made with openssl"))
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
	if (!tap_ok(broker_up(0, tls_ports, 1), "TLS broker starts late") ||
	    !tap_ok(watch_up(T.brokers[0].port), "watcher subscribed"))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d over TLS", tls_ports[0]);
	log_wait(needle, 1, RECONNECT_TIMEOUT_MS, "TLS broker up");
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "the state arrives");
}

/* TLS with no ca_file/ca_path verifies the broker against the system's certificate store; here
 * the store is the test CA, through OpenSSL's SSL_CERT_FILE. The first connection and every
 * later one must work: with libmosquitto 2.0.11 each reconnect after the broker restarted failed
 * ("MOSQ_OPT_SSL_CTX_WITH_DEFAULTS used without specifying cafile, capath or psk") for ever. */
static void scenario_tls_os_store(void)
{
	char needle[128];
	size_t c = 0;

	if (!tls_broker_up())
		return;
	snprintf(T.cert_file, sizeof(T.cert_file), "%s/ca.pem", tls_dir);
	if (!tls_daemon(tls_ports[0], ""))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d over TLS", tls_ports[0]);
	log_wait(needle, 1, TIMEOUT_MS, "system store");
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "system store: the state arrives");
	for (int round = 1; round <= 2; round++) {
		broker_stop(0, SIGKILL);
		watch_stop();
		if (!tap_ok(broker_up(0, tls_ports, 3), "broker restart %d", round) ||
		    !tap_ok(watch_up(T.brokers[0].port), "restart %d: watcher subscribed", round))
			return;
		c = watch_mark();
		log_wait(needle, round + 1, RECONNECT_TIMEOUT_MS, "system store, after a restart");
		gpio("sw", round & 1);
		tap_ok(watch_for(&c, "sw", round & 1 ? "ON" : "OFF", RECONNECT_TIMEOUT_MS),
		       "restart %d: an edge arrives over the new connection", round);
	}
	tap_ok(file_count(T.daemon_err, "SSL_CTX_WITH_DEFAULTS") == 0,
	       "no 'used without specifying cafile' failure");
	tap_ok(daemon_stop(), "system store: clean stop");
}

/* ---- a hostile broker -------------------------------------------------------------------- */

/* A scripted fake broker: on each TCP connection it reads the CONNECT and answers with the next
 * reply of the script (the last one repeats; an empty reply closes the connection at once), then
 * waits for the client to hang up. */
struct fake_reply {
	const unsigned char *bytes;
	size_t len;
};

static struct {
	int listen_fd;
	volatile int connections;
	const struct fake_reply *script;
	size_t n_script;
} fake = { .listen_fd = -1 };

#define FAKE_REPLY(a) { a, sizeof(a) }

/* CONNACK carrying property 0x5a, which MQTT v5 does not define. */
static const unsigned char connack_bad_property[] = { 0x20, 0x05, 0x00, 0x00, 0x02, 0x5a, 0x00 };
/* A good CONNACK, then a PUBLISH (QoS 0, topic "a") carrying the same unknown property. */
static const unsigned char publish_bad_property[] = { 0x20, 0x03, 0x00, 0x00, 0x00,
						      0x30, 0x07, 0x00, 0x01, 'a', 0x02, 0x5a,
						      0x00, 'x' };
/* Not MQTT at all: a packet type a broker never sends (SUBSCRIBE). */
static const unsigned char not_mqtt[] = { 0x80, 0x00 };

static void *fake_broker_thread(void *arg)
{
	(void)arg;
	for (;;) {
		unsigned char buf[4096];
		int fd = accept4(fake.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		int n = fake.connections;
		const struct fake_reply *reply;

		if (fd < 0)
			return NULL;
		fake.connections = n + 1;
		reply = &fake.script[(size_t)n < fake.n_script ? (size_t)n : fake.n_script - 1];
		if (recv(fd, buf, sizeof(buf), 0) > 0 && reply->len > 0 &&
		    send(fd, reply->bytes, reply->len, MSG_NOSIGNAL) == (ssize_t)reply->len)
			while (recv(fd, buf, sizeof(buf), 0) > 0)
				;
		close(fd);
	}
}

/* Starts the fake broker with SCRIPT and the daemon connected to it; waits until the daemon has
 * made CONNECTIONS connections (or died: checked by the caller). */
static bool fake_broker_run(const struct fake_reply *script, size_t n_script, int connections)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char brokers[128];
	pthread_t thread;
	int64_t deadline;

	fake.script = script;
	fake.n_script = n_script;
	fake.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!tap_ok(fake.listen_fd >= 0 && bind(fake.listen_fd, (struct sockaddr *)&sa, len) == 0 &&
			    getsockname(fake.listen_fd, (struct sockaddr *)&sa, &len) == 0 &&
			    listen(fake.listen_fd, 8) == 0 &&
			    pthread_create(&thread, NULL, fake_broker_thread, NULL) == 0,
		    "fake broker listens"))
		return false;
	pthread_detach(thread);
	broker_entry(brokers, sizeof(brokers), ntohs(sa.sin_port));
	if (!tap_ok(config_write(brokers, ""), "config written") ||
	    !tap_ok(daemon_start(true), "daemon starts"))
		return false;
	deadline = now_ms() + RECONNECT_TIMEOUT_MS;
	while (fake.connections < connections && now_ms() < deadline && daemon_alive_quiet())
		pause_ms(20);
	return tap_ok(fake.connections >= connections, "the daemon came back: %d connections",
		      fake.connections);
}

/* Malformed MQTT v5 packets from the broker are a lost connection, never a crash: Debian 12's
 * libmosquitto 2.0.11 aborted the whole process ("log__printf: Assertion 'mosq' failed") on an
 * unknown property. */
static void scenario_bad_properties(void)
{
	static const struct fake_reply script[] = { FAKE_REPLY(connack_bad_property),
						    FAKE_REPLY(publish_bad_property) };

	fake_broker_run(script, 2, 4);
	daemon_alive("after malformed packets");
	log_wait("mqtt: connecting to", 4, TIMEOUT_MS, "malformed packets: backoff and retry");
	tap_ok(daemon_stop(), "malformed packets: clean stop");
}

/* Every failure is logged with its real cause: a peer that is not an MQTT broker is not a "TLS"
 * problem (there is no TLS here), and a peer that hangs up is not "Success". */
static void scenario_failure_reasons(void)
{
	static const struct fake_reply script[] = { FAKE_REPLY(not_mqtt), { NULL, 0 } };
	char *log;

	fake_broker_run(script, 2, 3);
	daemon_alive("after a peer that is no MQTT broker");
	log_wait("not an MQTT broker", 1, TIMEOUT_MS, "a peer that speaks no MQTT");
	log_wait("the broker closed the connection before answering the CONNECT", 1, TIMEOUT_MS,
		 "a peer that hangs up at once");
	tap_ok(daemon_stop(), "failure reasons: clean stop");
	log = file_read(T.daemon_err, NULL);
	tap_ok(log && !strstr(log, "TLS:"), "no failure is called a TLS problem without TLS");
	tap_ok(log && !strstr(log, ": Success"), "no failure is logged as \"Success\"");
	if (log && (strstr(log, "TLS:") || strstr(log, ": Success")))
		daemon_dump();
	free(log);
}

/* ---- a lenient broker holding a malformed retained topic --------------------------------- */

/* Reads one MQTT packet: its first byte into *TYPE, its body into BUF (at most SIZE bytes).
 * Returns the body's length, or -1 when the connection ends or the packet is too large. */
static long mqtt_packet_read(int fd, unsigned char *type, unsigned char *buf, size_t size)
{
	size_t len = 0;
	unsigned char b;
	int shift = 0;

	if (recv(fd, type, 1, MSG_WAITALL) != 1)
		return -1;
	do {
		if (recv(fd, &b, 1, MSG_WAITALL) != 1 || shift > 21)
			return -1;
		len |= (size_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (len > size || (len && recv(fd, buf, len, MSG_WAITALL) != (ssize_t)len))
		return -1;
	return (long)len;
}

/* Whether a SUBSCRIBE body (packet id, v5 properties, then filters with their options) has a
 * filter with a wildcard. */
static bool lenient_has_wildcard(const unsigned char *body, size_t len)
{
	size_t i = 2, props = 0;
	int shift = 0;

	do { /* the properties' length, a variable byte integer */
		if (i >= len)
			return false;
		props |= (size_t)(body[i] & 0x7f) << shift;
		shift += 7;
	} while (body[i++] & 0x80);
	for (i += props; i + 2 <= len;) {
		size_t fl = (size_t)body[i] << 8 | body[i + 1];

		if (i + 2 + fl > len)
			return false;
		if (memchr(body + i + 2, '+', fl) || memchr(body + i + 2, '#', fl))
			return true;
		i += 2 + fl + 1; /* the filter and its options byte */
	}
	return false;
}

static volatile int lenient_bad_sent;

/* One client of the lenient broker (MQTT v5): CONNACK, SUBACK for every SUBSCRIBE, PUBACK for
 * QoS 1 publishes, PINGRESP; when a subscription has a wildcard, it delivers what such a broker
 * would hold retained under the base: a topic with a control character, <base>/\x01bad/set. */
static void lenient_session(int fd)
{
	unsigned char type, body[4096];
	long len;

	while ((len = mqtt_packet_read(fd, &type, body, sizeof(body))) >= 0) {
		unsigned char reply[512];
		size_t n = 0;

		switch (type >> 4) {
		case 1: /* CONNECT */
			memcpy(reply, "\x20\x03\x00\x00\x00", 5);
			n = 5;
			break;
		case 8: /* SUBSCRIBE: packet id, properties, filters */
			if (len < 3)
				return;
			reply[n++] = 0x90;
			reply[n++] = 4;
			reply[n++] = body[0];
			reply[n++] = body[1];
			reply[n++] = 0; /* no properties */
			reply[n++] = 1; /* granted QoS 1 */
			if (lenient_has_wildcard(body, (size_t)len)) {
				char topic[256];
				int tl = snprintf(topic, sizeof(topic), "%s/\x01" "bad/set", T.base);

				reply[n++] = 0x31; /* PUBLISH, QoS 0, retained */
				reply[n++] = (unsigned char)(2 + tl + 1 + 2);
				reply[n++] = 0;
				reply[n++] = (unsigned char)tl;
				memcpy(reply + n, topic, (size_t)tl);
				n += (size_t)tl;
				reply[n++] = 0; /* no properties */
				memcpy(reply + n, "ON", 2);
				n += 2;
				lenient_bad_sent = lenient_bad_sent + 1;
			}
			break;
		case 3: /* PUBLISH from the client: PUBACK when QoS 1 */
			if (((type >> 1) & 3) == 1 && len >= 2) {
				size_t tl = (size_t)body[0] << 8 | body[1];

				if ((long)tl + 4 > len)
					return;
				memcpy(reply, "\x40\x02", 2);
				reply[2] = body[2 + tl];
				reply[3] = body[3 + tl];
				n = 4;
			}
			break;
		case 12: /* PINGREQ */
			memcpy(reply, "\xd0\x00", 2);
			n = 2;
			break;
		case 14: /* DISCONNECT */
			return;
		default:
			break;
		}
		if (n && send(fd, reply, n, MSG_NOSIGNAL) != (ssize_t)n)
			return;
	}
}

static void *lenient_broker_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(fake.listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return NULL;
		fake.connections = fake.connections + 1;
		lenient_session(fd);
		close(fd);
	}
}

/* A retained message with a malformed topic under the base (on a broker lenient enough to
 * keep it) must not cost the connection: the daemon subscribes to its own pins' topics only,
 * so it is never delivered. With wildcard subscriptions libmosquitto dropped the connection at
 * every subscribe, about once a second, for ever. */
static void scenario_malformed_retained(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char brokers[128];
	pthread_t thread;
	int64_t deadline;

	fake.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!tap_ok(fake.listen_fd >= 0 && bind(fake.listen_fd, (struct sockaddr *)&sa, len) == 0 &&
			    getsockname(fake.listen_fd, (struct sockaddr *)&sa, &len) == 0 &&
			    listen(fake.listen_fd, 8) == 0 &&
			    pthread_create(&thread, NULL, lenient_broker_thread, NULL) == 0,
		    "lenient broker listens"))
		return;
	pthread_detach(thread);
	broker_entry(brokers, sizeof(brokers), ntohs(sa.sin_port));
	if (!tap_ok(config_write(brokers, ""), "config written") ||
	    !tap_ok(daemon_start(true), "daemon starts"))
		return;
	log_wait("mqtt: connected to", 1, TIMEOUT_MS, "lenient broker");
	/* Three seconds connected: time for several reconnects had the connection been lost. */
	deadline = now_ms() + 3000;
	while (now_ms() < deadline && daemon_alive_quiet())
		pause_ms(50);
	tap_ok(fake.connections == 1, "one connection in 3 s (%d)", fake.connections);
	tap_ok(lenient_bad_sent == 0, "no wildcard subscription, so the bad topic never came");
	tap_ok(file_count(T.daemon_err, "connection to") == 0, "no connection lost");
	daemon_alive("lenient broker");
	tap_ok(daemon_stop(), "lenient broker: clean stop");
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

	tmp_path(pwfile, "mosquitto.passwd");
	tmp_path(userpw, "password");
	tmp_path(log, "passwd.log");
	if (!tap_ok(run_tool(argv1, log) && run_tool(argv2, log), "mosquitto_passwd"))
		return;
	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous false\npassword_file %s\n", pwfile);
	broker_entry(brokers, sizeof(brokers), T.brokers[0].port);
	if (!tap_ok(broker_up(0, NULL, 0), "broker starts") ||
	    !tap_ok(watch_up(T.brokers[0].port), "watcher subscribed"))
		return;

	/* A wrong password, in a file everybody may read. */
	snprintf(extra, sizeof(extra), "  username = \"gpio\";\n  password_file = \"%s\";\n",
		 userpw);
	if (!tap_ok(file_write_mode(userpw, "wrong-s3cret\n", 0644), "password file written") ||
	    !tap_ok(config_write(brokers, extra), "config written") ||
	    !tap_ok(daemon_start(true), "daemon starts"))
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
		tap_ok(t5 - t1 >= 1000, "wrong password: with backoff (5 attempts took %lld ms)",
		       (long long)(t5 - t1));
	}
	status_wait("the broker refused the connection", TIMEOUT_MS, "wrong password");
	{
		/* The backoff grows: the delays logged grow (within the +-20 % jitter). */
		long delays[8];
		int n = 0;
		char *p;

		text = file_read(T.daemon_err, NULL);
		for (p = text; p && n < 8 && (p = strstr(p, " in ")); p += 4) {
			long ms;
			char unit[4];

			if (sscanf(p, " in %ld %3s", &ms, unit) == 2 && strcmp(unit, "ms") == 0)
				delays[n++] = ms;
		}
		free(text);
		tap_ok(n >= 3 && delays[n - 1] > delays[0],
		       "wrong password: the retry delay grows (%d delays, first %ld ms, last %ld ms)",
		       n, n ? delays[0] : 0, n ? delays[n - 1] : 0);
	}
	snprintf(cmdline, sizeof(cmdline), "/proc/%d/cmdline", (int)T.daemon);
	text = file_read(cmdline, NULL);
	tap_ok(text && !strstr(text, "s3cret"), "the password is not in the process arguments");
	free(text);
	daemon_alive("wrong password");
	tap_ok(daemon_stop(), "wrong password: clean stop");
	tap_ok(file_count(T.daemon_err, "wrong-s3cret") == 0, "the password is never logged");

	/* Fixed (and private) file, restart: connects. */
	if (!tap_ok(file_write_mode(userpw, "right-s3cret\n", 0600), "password fixed") ||
	    !tap_ok(daemon_start(true), "daemon restarts"))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d", T.brokers[0].port);
	log_wait(needle, 1, TIMEOUT_MS, "right password");
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "right password: the state arrives");
	tap_ok(file_count(T.daemon_err, "can be read by every user") == 0,
	       "a private password file draws no warning");
	tap_ok(daemon_stop(), "right password: clean stop");

	/* --check never shows it. */
	{
		char out[PATH_LEN];
		char *argv[] = { (char *)H.daemon_path, (char *)"--check", (char *)"-c", T.config,
				 NULL };

		tmp_path(out, "check.log");
		tap_ok(run_tool(argv, out), "--check passes");
		tap_ok(file_count(out, "s3cret") == 0, "--check output has no password");
		/* The file is 0600 with the test's own group, not gpio: the shipped unit's dynamic
		 * user (group gpio) could not read it, and --check says so with the two ways out;
		 * the daemon itself, which did read it, did not. */
		tap_ok(file_count(out, "gpio2mqtt.service (a dynamic user in group gpio) cannot "
				       "read it") == 1 &&
			       file_count(out, "chmod 640") == 1 &&
			       file_count(out, "LoadCredential=mqtt-password:") == 1,
		       "--check: the service could not read a 0600 password file; how to fix it");
		tap_ok(file_count(T.daemon_err, "cannot read it") == 0,
		       "the running daemon does not say so");
	}

	/* The systemd credential instead of password_file. */
	tmp_path(T.creds_dir, "credentials");
	{
		char cred[PATH_LEN + 32];

		snprintf(cred, sizeof(cred), "%s/mqtt-password", T.creds_dir);
		if (!tap_ok(mkdir(T.creds_dir, 0700) == 0 &&
				   file_write_mode(cred, "right-s3cret\n", 0400),
			   "credential written"))
			return;
	}
	if (!tap_ok(config_write(brokers, "  username = \"gpio\";\n"), "config without password") ||
	    !tap_ok(daemon_start(true), "daemon starts with the credential"))
		return;
	log_wait(needle, 1, TIMEOUT_MS, "systemd credential");
	tap_ok(file_count(T.daemon_err, "s3cret") == 0, "the credential is never logged");
	tap_ok(daemon_stop(), "credential: clean stop");
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
	if (!tap_ok(broker_up(1, NULL, 0), "second broker starts") ||
	    !tap_ok(watch_up(T.brokers[1].port), "watcher on the second broker") ||
	    !tap_ok(config_write(brokers, NULL), "config with two brokers") ||
	    !tap_ok(daemon_start(true), "daemon starts"))
		return;
	snprintf(needle, sizeof(needle), "cannot connect to 127.0.0.1:%d", T.brokers[0].port);
	log_wait(needle, 1, TIMEOUT_MS, "first broker down");
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d", T.brokers[1].port);
	log_wait(needle, 1, RECONNECT_TIMEOUT_MS, "the second broker is used");
	status_wait(needle, TIMEOUT_MS, "the second broker is used");
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "states on the second broker");
	tap_ok(daemon_stop(), "clean stop");
	watch_stop();

	/* Both up: the first is used; killed while connected, the daemon moves to the second
	 * and republishes every state there. */
	if (!tap_ok(broker_up(0, NULL, 0), "first broker starts") ||
	    !tap_ok(daemon_start(true), "daemon restarts"))
		return;
	snprintf(needle, sizeof(needle), "connected to 127.0.0.1:%d", T.brokers[0].port);
	log_wait(needle, 1, TIMEOUT_MS, "the first broker is used");
	gpio("sw", 1);
	expect_retained(T.brokers[0].port, "sw", "ON", TIMEOUT_MS, "on the first broker");
	/* The second broker is cleared of the earlier run's retained states. */
	broker_stop(1, SIGKILL);
	if (!tap_ok(broker_up(1, NULL, 0), "second broker restarted empty"))
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
		ok = tap_ok(broker_up(0, NULL, 0), "restart %d: broker up", i + 1);
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
	text = file_read(path, NULL);
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
		 "allow_anonymous true\npersistence true\npersistence_location %s/\n", H.tmp);
	watch_persistent = true;
	snprintf(extra, sizeof(extra), "  offline_events = %d;\n", keep);
	if (!start_plain(extra, false))
		return;
	c = 0;
	tap_ok(watch_for(&c, "sw", "OFF", TIMEOUT_MS), "connected");
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
		tap_ok(events_wait(events), "round %d: the daemon took all %d edges", round + 1,
		       events);
		hwm[round] = proc_kb("VmHWM");
	}
	tap_diag("VmRSS before %ld kB, VmHWM after each burst %ld, %ld, %ld kB", rss0, hwm[0], hwm[1],
		 hwm[2]);
	tap_ok(rss0 > 0 && hwm[0] - rss0 < 4096, "memory bounded during the first burst (+%ld kB)",
	       hwm[0] - rss0);
	{
		/* AddressSanitizer's allocator does not reuse freed blocks at once: allow it more
		 * (a leak of the held events would still show as megabytes). */
		char maps[64], *text;
		bool asan;

		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)T.daemon);
		text = file_read(maps, NULL);
		asan = text && strstr(text, "libasan");
		free(text);
		tap_ok(hwm[2] - hwm[1] < (asan ? 1536 : 512),
		       "no growth with the third burst (+%ld kB%s)", hwm[2] - hwm[1],
		       asan ? ", AddressSanitizer" : "");
	}
	log_wait("offline queue full (offline_events = 50)", 1, TIMEOUT_MS, "overflow logged");
	tap_ok(file_count(T.daemon_err, "offline queue full") == 1, "overflow logged once");

	/* Back: the latest states, then the last KEEP events in order. */
	if (!tap_ok(broker_up(0, NULL, 0), "broker back") ||
	    !tap_ok(watch_up(T.brokers[0].port), "watcher subscribed"))
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
			struct msg m;

			for (size_t i = 0; watch_at(i, &m); i++) {
				const char *s;
				long seq;

				if (strcmp(m.topic, topic) != 0)
					continue;
				s = strstr(m.payload, "\"seq\":");
				seq = s ? atol(s + 6) : -1;
				if (got && seq != last_seq + 1)
					in_order = false;
				last_seq = seq;
				got++;
			}
			if (got < keep)
				pause_ms(20);
		}
		tap_ok(got == keep, "the last %d events arrive (got %d)", keep, got);
		tap_ok(in_order, "in order, none missing between them");
		tap_ok(last_seq == total, "the newest event is the last one (seq %ld of %d)",
		       last_seq, total);
		log_wait("events were lost while offline (offline_events = 50", 1, TIMEOUT_MS,
			 "the loss is logged");
	}
	daemon_alive("after the burst");
}

/* With Homie on, <base>/status has a connection of its own (issue 15). When the broker refuses
 * that connection (here: the daemon's listener takes one connection only), "online" is still
 * published, on the main connection, and the reason is logged once. */
static void scenario_status_refused(void)
{
	int port = free_port();
	char brokers[128], needle[128];
	size_t c = 0;

	snprintf(T.brokers[0].extra, sizeof(T.brokers[0].extra),
		 "allow_anonymous true\nlistener %d 127.0.0.1\nmax_connections 1\n", port);
	broker_entry(brokers, sizeof(brokers), port);
	if (!tap_ok(broker_up(0, &port, 1), "broker starts") ||
	    !tap_ok(watch_up(T.brokers[0].port), "watcher subscribed") ||
	    !tap_ok(config_write_top(brokers, NULL, "discovery = { homie = true; };\n"),
		    "config written") ||
	    !tap_ok(daemon_start(true), "daemon starts"))
		return;
	snprintf(needle, sizeof(needle), "the status connection to 127.0.0.1:%d failed", port);
	log_wait(needle, 1, TIMEOUT_MS, "the refused status connection");
	tap_ok(watch_for(&c, "status", "online", TIMEOUT_MS),
	       "\"online\" is published on the main connection instead");
	c = 0;
	tap_ok(watch_for(&c, "sw", NULL, TIMEOUT_MS), "the states are published");
	pause_ms(1500); /* a few more attempts (backoff 100..1000 ms) */
	tap_ok(file_count(T.daemon_err, "warning: mqtt: the status connection to") == 1,
	       "the refusal is logged once as a warning (%d times)",
	       file_count(T.daemon_err, "warning: mqtt: the status connection to"));
	tap_ok(file_count(T.daemon_err, "mqtt: the status connection to") > 1,
	       "its repeats are logged at debug level");
	daemon_alive("after the refusals");
}

/* ---- main -------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(void);
	bool needs_openssl;
} mqtt_scenarios[] = {
	{ "acl-v5", scenario_acl_v5, false },
	{ "acl-v311", scenario_acl_v311, false },
	{ "tls", scenario_tls, true },
	{ "tls-client-cert", scenario_tls_client_cert, true },
	{ "tls-late", scenario_tls_late, true },
	{ "tls-os-store", scenario_tls_os_store, true },
	{ "bad-properties", scenario_bad_properties, false },
	{ "failure-reasons", scenario_failure_reasons, false },
	{ "malformed-retained", scenario_malformed_retained, false },
	{ "credentials", scenario_credentials, false },
	{ "failover", scenario_failover, false },
	{ "restart-storm", scenario_restart_storm, false },
	{ "offline-burst", scenario_offline_burst, false },
	{ "status-refused", scenario_status_refused, false },
};

#define N_SCENARIOS (sizeof(mqtt_scenarios) / sizeof(mqtt_scenarios[0]))

static const char *skip(void)
{
	for (size_t i = 0; i < N_SCENARIOS; i++)
		if (strcmp(mqtt_scenarios[i].name, H.scenario) == 0 &&
		    mqtt_scenarios[i].needs_openssl && strcmp(H.args[1], "-") == 0)
			return "openssl not found";
	return NULL;
}

int main(int argc, char **argv)
{
	struct scenario scenarios[N_SCENARIOS];
	const struct harness_program p = {
		.usage_args = "MOSQUITTO_PASSWD OPENSSL|-",
		.n_args = 2,
		.tmp_prefix = "g2m-mqtt",
		.scenarios = scenarios,
		.n_scenarios = N_SCENARIOS,
		.skip = skip,
		.setup = setup,
		.cleanup = cleanup,
	};

	for (size_t i = 0; i < N_SCENARIOS; i++)
		scenarios[i] = (struct scenario){ mqtt_scenarios[i].name, mqtt_scenarios[i].fn };
	return harness_main(argc, argv, &p);
}
