/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bridge.h"
#include "build-config.h"
#include "config.h"
#include "gpio.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "notify.h"

#define EXIT_CONFIG 78 /* EX_CONFIG */
#define TOPIC_MAX 512
/* How long a stop waits for the broker to acknowledge "offline". */
#define STOP_TIMEOUT_USEC (2 * 1000000ULL)

struct daemon {
	const char *config_path;
	struct config *cfg;
	struct loop *loop;
	struct gpio *gpio;
	struct bridge *bridge;
	struct mqtt *mqtt;
	int signal_fd;
	struct loop_source *stop_timer;
	char status_topic[TOPIC_MAX];
	char set_pattern[TOPIC_MAX];
	char broker[300];
	bool connected;
	bool stopping;
	int offline_mid;
	unsigned long long edges;
	unsigned long long edges_lost;
	unsigned long long dropped_reported;
};

static void daemon_status_update(struct daemon *d)
{
	if (d->stopping)
		notify_status("stopping");
	else if (d->connected)
		notify_status("connected to %s; %zu inputs, %zu outputs", d->broker,
			      d->cfg->n_inputs, d->cfg->n_outputs);
	else
		notify_status("not connected to a broker (retrying); serving %zu inputs, %zu outputs",
			      d->cfg->n_inputs, d->cfg->n_outputs);
}

static void daemon_publish_state(struct daemon *d, size_t pin)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	const char *payload = bridge_state_payload(bridge_pin_active(d->bridge, pin));
	char topic[TOPIC_MAX];
	int r;

	/* While offline the bridge holds the latest state; it is published on connect. */
	if (!d->connected)
		return;
	r = bridge_topic_build(topic, sizeof(topic), d->cfg->mqtt.base_topic, p->name, NULL);
	if (r == 0)
		r = mqtt_publish(d->mqtt, topic, payload, strlen(payload), p->qos, p->retain, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("pin '%s': cannot publish state %s: %s", p->name, payload, strerror(-r));
}

static void daemon_actions_run(struct daemon *d, const struct bridge_actions *actions)
{
	for (size_t i = 0; i < actions->n; i++) {
		const struct bridge_action *a = &actions->items[i];
		const char *name = d->cfg->pins[a->pin].name;
		bool level;
		int r;

		switch (a->type) {
		case BRIDGE_ACTION_SET_OUTPUT:
			r = gpio_set(d->gpio, a->pin, a->active);
			if (r < 0) {
				log_error("pin '%s': cannot drive the line %s: %s", name,
					  bridge_state_payload(a->active), strerror(-r));
				if (gpio_get(d->gpio, a->pin, &level) == 0)
					bridge_pin_sync(d->bridge, a->pin, level);
			}
			break;
		case BRIDGE_ACTION_PUBLISH_STATE:
			daemon_publish_state(d, a->pin);
			break;
		}
	}
}

static void daemon_on_edge(void *userdata, const struct gpio_event *ev)
{
	struct daemon *d = userdata;
	struct bridge_actions actions;

	d->edges++;
	if (ev->lost) {
		d->edges_lost += ev->lost;
		log_warning("pin '%s': %llu edges lost (the kernel's event buffer overflowed); "
			    "%llu lost since start",
			    d->cfg->pins[ev->pin].name, (unsigned long long)ev->lost, d->edges_lost);
	}
	if (bridge_input_edge(d->bridge, ev->pin, ev->active, &actions) < 0)
		return;
	log_debug("pin '%s': %s", d->cfg->pins[ev->pin].name, bridge_state_payload(ev->active));
	daemon_actions_run(d, &actions);
}

static int daemon_on_gpio(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	int r = gpio_dispatch(d->gpio, fd, daemon_on_edge, d);

	if (r < 0) {
		log_error("cannot read GPIO events: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* A payload as it may appear in a log line: at most 40 bytes, non-printable bytes escaped. */
static void daemon_payload_quote(const char *payload, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 5 < size; i++) {
		unsigned char c = (unsigned char)payload[i];

		if (i == 40) {
			n += (size_t)snprintf(buf + n, size - n, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	buf[n] = '\0';
}

static void daemon_on_command(struct daemon *d, const struct mqtt_event *ev)
{
	struct bridge_actions actions;
	enum bridge_command command;
	const char *name;
	size_t name_len, pin;
	char quoted[256];
	int r;

	if (bridge_topic_parse_set(d->cfg->mqtt.base_topic, ev->topic, &name, &name_len) < 0)
		return;
	if (bridge_pin_find(d->bridge, name, name_len, &pin) < 0) {
		log_warning("mqtt: command on '%s' ignored: no pin called '%.*s'", ev->topic,
			    (int)name_len, name);
		return;
	}
	name = d->cfg->pins[pin].name;
	daemon_payload_quote(ev->payload, ev->payload_len, quoted, sizeof(quoted));
	if (d->cfg->pins[pin].direction != CONFIG_DIRECTION_OUTPUT) {
		log_warning("pin '%s': command '%s' ignored: the pin is an input", name, quoted);
		return;
	}
	if (ev->retain && !d->cfg->mqtt.accept_retained_commands) {
		log_notice("pin '%s': retained command '%s' ignored (a stale command left on the "
			   "broker; set mqtt.accept_retained_commands to act on them)",
			   name, quoted);
		return;
	}
	if (bridge_command_parse(ev->payload, ev->payload_len, &command) < 0) {
		log_warning("pin '%s': command '%s' ignored: expected ON, OFF or TOGGLE", name,
			    quoted);
		return;
	}
	r = bridge_output_command(d->bridge, pin, command, &actions);
	if (r < 0)
		return;
	if (r == BRIDGE_OUTCOME_CHANGED)
		log_info("pin '%s': %s (command '%s')", name,
			 bridge_state_payload(bridge_pin_active(d->bridge, pin)), quoted);
	daemon_actions_run(d, &actions);
}

static void daemon_on_connected(struct daemon *d, const char *broker)
{
	static const char online[] = "online";
	int r;

	d->connected = true;
	snprintf(d->broker, sizeof(d->broker), "%s", broker);
	/* Subscribe first, so a command sent right after "online" is not missed. */
	r = mqtt_subscribe(d->mqtt, d->set_pattern, d->cfg->mqtt.qos);
	if (r < 0 && r != -ENOTCONN)
		log_error("mqtt: cannot subscribe to %s: %s", d->set_pattern, strerror(-r));
	r = mqtt_publish(d->mqtt, d->status_topic, online, strlen(online), 1, true, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("mqtt: cannot publish %s: %s", d->status_topic, strerror(-r));
	for (size_t i = 0; i < d->cfg->n_pins; i++)
		daemon_publish_state(d, i);
	daemon_status_update(d);
}

static void daemon_quit(struct daemon *d)
{
	mqtt_disconnect(d->mqtt);
	loop_quit(d->loop, EXIT_SUCCESS);
}

static int daemon_on_mqtt(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	struct mqtt_event ev;
	unsigned long long dropped;

	while (mqtt_event_pop(d->mqtt, &ev) > 0) {
		switch (ev.type) {
		case MQTT_EVENT_CONNECTED:
			if (!d->stopping)
				daemon_on_connected(d, ev.broker);
			break;
		case MQTT_EVENT_DISCONNECTED:
			d->connected = false;
			if (d->stopping)
				daemon_quit(d);
			else
				daemon_status_update(d);
			break;
		case MQTT_EVENT_MESSAGE:
			if (!d->stopping)
				daemon_on_command(d, &ev);
			break;
		case MQTT_EVENT_PUBLISHED:
			if (d->stopping && ev.mid == d->offline_mid)
				daemon_quit(d);
			break;
		}
		mqtt_event_release(&ev);
	}
	dropped = mqtt_events_dropped(d->mqtt);
	if (dropped > d->dropped_reported) {
		log_warning("mqtt: %llu incoming messages dropped: commands arrive faster than "
			    "they can be carried out",
			    dropped - d->dropped_reported);
		d->dropped_reported = dropped;
	}
	return 0;
}

static int daemon_on_stop_timeout(void *userdata)
{
	struct daemon *d = userdata;

	log_warning("mqtt: the broker did not acknowledge 'offline' in time; stopping anyway");
	daemon_quit(d);
	return 0;
}

static void daemon_stop(struct daemon *d, const char *why)
{
	static const char offline[] = "offline";
	int r;

	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("stopping (%s)", why);
	notify_stopping();
	if (!d->connected) {
		daemon_quit(d);
		return;
	}
	r = mqtt_publish(d->mqtt, d->status_topic, offline, strlen(offline), 1, true,
			 &d->offline_mid);
	if (r < 0 || loop_add_timer(d->loop, daemon_on_stop_timeout, d, &d->stop_timer) < 0 ||
	    loop_timer_arm(d->stop_timer, STOP_TIMEOUT_USEC, 0) < 0)
		daemon_quit(d);
}

static void daemon_config_errors_log(const struct config_errors *errors)
{
	char line[1024];

	for (size_t i = 0; i < errors->n; i++) {
		config_error_format(&errors->items[i], line, sizeof(line));
		log_plain(LOG_ERR, "%s", line);
	}
}

/* SIGHUP: the new file is validated so a mistake shows before the next restart. Applying a
 * changed configuration without a restart is not done yet: the running one stays in force. */
static void daemon_reload(struct daemon *d)
{
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	int r;

	notify_reloading();
	r = config_load(d->config_path, &cfg, &errors);
	if (r < 0) {
		daemon_config_errors_log(&errors);
		log_error("reload: %s has errors; the running configuration stays in force",
			  d->config_path);
		notify_status("reload failed: %s has errors; running the previous configuration",
			      d->config_path);
	} else {
		log_notice("reload: %s is valid; restart gpio2mqtt to apply it (the running "
			   "configuration stays in force)",
			   d->config_path);
		daemon_status_update(d);
	}
	config_free(cfg);
	config_errors_clear(&errors);
	notify_ready();
}

static int daemon_on_signal(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			daemon_stop(d, strsignal((int)si.ssi_signo));
			break;
		case SIGHUP:
			daemon_reload(d);
			break;
		default:
			break;
		}
	}
	return 0;
}

static int daemon_on_watchdog(void *userdata)
{
	(void)userdata;
	notify_watchdog();
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gpio2mqtt [OPTION]...\n"
		"Bridge GPIO lines to MQTT: inputs publish their state, outputs follow commands.\n"
		"\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -n, --check        check the configuration and exit (0: valid, 78: errors)\n"
		"  -d, --debug        log debug messages\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Exit status: 0 after SIGTERM/SIGINT, 78 on configuration errors, 1 on other\n"
		"start-up errors. See gpio2mqtt(8) and gpio2mqtt.conf(5).\n",
		GPIO2MQTT_DEFAULT_CONFIG);
}

static int daemon_setup(struct daemon *d)
{
	char err[1024];
	bool *levels;
	sigset_t mask;
	int r;

	r = bridge_topic_build(d->status_topic, sizeof(d->status_topic), d->cfg->mqtt.base_topic,
			       "status", NULL);
	if (r == 0)
		r = bridge_topic_build(d->set_pattern, sizeof(d->set_pattern),
				       d->cfg->mqtt.base_topic, "+", "/set");
	if (r < 0) {
		log_error("base topic too long");
		return r;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0) {
		r = -errno;
		log_error("signalfd: %s", strerror(errno));
		return r;
	}

	r = gpio_open(&d->gpio, d->cfg->pins, d->cfg->n_pins, "gpio2mqtt", err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}

	levels = calloc(d->cfg->n_pins ? d->cfg->n_pins : 1, sizeof(*levels));
	if (!levels)
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_pins && r == 0; i++)
		r = gpio_get(d->gpio, i, &levels[i]);
	if (r == 0)
		r = bridge_new(&d->bridge, d->cfg->pins, d->cfg->n_pins, levels);
	free(levels);
	if (r < 0) {
		log_error("cannot set up the pins: %s", strerror(-r));
		return r;
	}

	r = loop_new(&d->loop);
	if (r < 0)
		goto fail;
	r = loop_add_fd(d->loop, d->signal_fd, daemon_on_signal, d, NULL);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < gpio_fd_count(d->gpio); i++) {
		r = loop_add_fd(d->loop, gpio_fd(d->gpio, i), daemon_on_gpio, d, NULL);
		if (r < 0)
			goto fail;
	}
	if (notify_watchdog_interval_usec()) {
		struct loop_source *timer;

		r = loop_add_timer(d->loop, daemon_on_watchdog, d, &timer);
		if (r == 0)
			r = loop_timer_arm(timer, notify_watchdog_interval_usec(),
					   notify_watchdog_interval_usec());
		if (r < 0)
			goto fail;
	}

	r = mqtt_new(&d->mqtt, &d->cfg->mqtt, d->status_topic, "offline");
	if (r < 0)
		goto fail;
	r = loop_add_fd(d->loop, mqtt_event_fd(d->mqtt), daemon_on_mqtt, d, NULL);
	if (r < 0)
		goto fail;
	r = mqtt_start(d->mqtt);
	if (r < 0)
		goto fail;
	return 0;

fail:
	log_error("cannot start: %s", strerror(-r));
	return r;
}

static void daemon_teardown(struct daemon *d)
{
	/* The network thread goes first: nothing may arrive for the lines after they are gone. */
	mqtt_free(d->mqtt);
	loop_free(d->loop);
	gpio_close(d->gpio);
	bridge_free(d->bridge);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	config_free(d->cfg);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct daemon d = { .config_path = GPIO2MQTT_DEFAULT_CONFIG, .signal_fd = -1 };
	struct config_errors errors = { 0 };
	bool check = false, debug = false;
	char summary[512];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "c:ndVh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'V':
			printf("gpio2mqtt %s\n", GPIO2MQTT_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gpio2mqtt: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_FAILURE;
	}
	log_init(debug ? LOG_DEBUG : LOG_INFO);

	r = config_load(d.config_path, &d.cfg, &errors);
	if (r < 0) {
		daemon_config_errors_log(&errors);
		if (errors.n == 0)
			log_error("%s: %s", d.config_path, strerror(-r));
		else
			log_plain(LOG_ERR, "%s: %zu error%s%s", d.config_path, errors.n,
				  errors.n == 1 ? "" : "s", check ? "" : "; nothing was started");
		config_errors_clear(&errors);
		return EXIT_CONFIG;
	}
	config_summary(d.cfg, summary, sizeof(summary));
	if (check) {
		printf("configuration OK: %s\n", summary);
		config_free(d.cfg);
		return EXIT_SUCCESS;
	}

	r = daemon_setup(&d);
	if (r < 0) {
		daemon_teardown(&d);
		return EXIT_FAILURE;
	}
	log_notice("gpio2mqtt %s started: %s", GPIO2MQTT_VERSION, summary);
	notify_ready();
	daemon_status_update(&d);

	r = loop_run(d.loop);
	if (r < 0)
		log_error("main loop failed: %s", strerror(-r));
	daemon_teardown(&d);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
