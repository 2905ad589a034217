/* SPDX-License-Identifier: MIT */
/* Options, --check, signals and the start-up order; the daemon itself is src/daemon.c. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "build-config.h"
#include "config.h"
#include "config_warn.h"
#include "daemon.h"
#include "gpio.h"
#include "lights.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "reload.h"

#define EXIT_CONFIG 78 /* EX_CONFIG */

enum main_outcome {
	MAIN_OUTCOME_BAD_LINE = 1, /* the configuration names a line this machine does not have */
};

static int main_on_signal(void *userdata, int fd, uint32_t events)
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

/* SIGTERM, SIGINT and SIGHUP arrive through a signalfd in the loop; SIGPIPE is ignored. */
static int main_signals_block(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		log_error("signalfd: %s", strerror(errno));
	}
	return fd;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gpio2mqtt [OPTION]...\n"
		"Bridge GPIO lines to MQTT: inputs publish their state, outputs follow commands.\n"
		"\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -n, --check        check the configuration, and its lines on this machine, and\n"
		"                     exit (0: valid, 78: errors)\n"
		"  -v, --verbose      with --check: print the resolved configuration, every\n"
		"                     default filled in and secrets hidden\n"
		"      --no-gpio      with --check: do not look the lines up on this machine\n"
		"                     (checking a file for another one)\n"
		"  -d, --debug        log debug messages\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Exit status: 0 after SIGTERM/SIGINT, 78 on configuration errors (also a line\n"
		"this machine does not have), 1 on other start-up errors. See gpio2mqtt(8) and\n"
		"gpio2mqtt.conf(5).\n",
		GPIO2MQTT_DEFAULT_CONFIG);
}

static void main_line_problem(void *userdata, size_t pin, const char *message)
{
	const struct config *cfg = userdata;

	log_plain(LOG_ERR, "%s:%d: %s", cfg->path, cfg->pins[pin].source_line, message);
}

/* --check on the target: every line must exist here and be free. Returns the number of
 * problems (each reported as FILE:LINE), 0 also when there is no GPIO chip to check against. */
static size_t main_check_lines(const struct config *cfg)
{
	size_t problems = 0;
	int r = gpio_check(cfg->pins, config_line_pins(cfg), main_line_problem, (void *)cfg,
			   &problems);

	if (r == GPIO_CHECK_NO_CHIPS)
		log_notice("no GPIO chip on this machine: the lines were not looked up (--no-gpio "
			   "says so on purpose)");
	else if (r < 0)
		log_warning("cannot look the lines up: %s", strerror(-r));
	return problems + lights_check(cfg);
}

/* The daemon, started in its order (src/daemon.h); each step logs its own failure. Returns 0
 * after a stop, MAIN_OUTCOME_BAD_LINE when a configured line does not exist, or a negative
 * errno. */
static int main_run(struct config *cfg, const char *config_path)
{
	struct daemon *d = NULL;
	bool bad_line;
	int signal_fd, r;

	r = daemon_new(&d, cfg, config_path);
	if (r < 0) {
		config_free(cfg);
		return r;
	}
	signal_fd = main_signals_block();
	r = signal_fd < 0 ? signal_fd : daemon_pins_open(d);
	/* A line that does not exist (or a chip, or an offset past its end) is the file's
	 * mistake: exit 78, which the unit does not restart in a loop. */
	bad_line = r == -ENOENT || r == -ERANGE || r == -ENOTUNIQ || r == -EEXIST;
	if (r == 0)
		r = daemon_loop_open(d);
	if (r == 0) {
		r = loop_add_fd(daemon_loop(d), signal_fd, main_on_signal, d, NULL);
		if (r < 0)
			log_error("cannot start: %s", strerror(-r));
	}
	if (r == 0)
		r = daemon_announce_setup(d);
	if (r == 0)
		r = daemon_connect(d);
	if (r == 0)
		r = daemon_run(d);
	daemon_free(d);
	if (signal_fd >= 0)
		close(signal_fd);
	return bad_line ? MAIN_OUTCOME_BAD_LINE : r;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "no-gpio", no_argument, NULL, 'G' },
		{ "debug", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = GPIO2MQTT_DEFAULT_CONFIG;
	struct config_errors errors = { 0 };
	bool check = false, debug = false, verbose = false, lines = true;
	struct config *cfg = NULL;
	char summary[512];
	int opt, r;

#ifdef M_ARENA_MAX
	/* One malloc arena: the network thread's allocations come from the main heap instead of a
	 * second glibc arena (64 MiB of address space, its own partly used pages; with TLS it held
	 * 488 KiB of OpenSSL's state beside a main heap with free room). */
	mallopt(M_ARENA_MAX, 1);
#endif
	while ((opt = getopt_long(argc, argv, "c:ndvVh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'G':
			lines = false;
			break;
		case 'd':
			debug = true;
			break;
		case 'v':
			verbose = true;
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

	r = config_load(config_path, &cfg, &errors);
	if (r < 0) {
		reload_errors_log(&errors);
		if (errors.n == 0)
			log_error("%s: %s", config_path, strerror(-r));
		else
			log_plain(LOG_ERR, "%s: %zu error%s%s", config_path, errors.n,
				  errors.n == 1 ? "" : "s", check ? "" : "; nothing was started");
		config_errors_clear(&errors);
		return EXIT_CONFIG;
	}
	config_warn(&cfg->mqtt, check);
	if (check) {
		size_t problems = lines ? main_check_lines(cfg) : 0;

		if (problems) {
			log_plain(LOG_ERR, "%s: %zu line%s not usable on this machine", config_path,
				  problems, problems == 1 ? "" : "s");
			config_free(cfg);
			return EXIT_CONFIG;
		}
		config_summary(cfg, summary, sizeof(summary));
		if (verbose)
			config_dump(cfg, stdout);
		printf("configuration OK: %s\n", summary);
		config_free(cfg);
		return EXIT_SUCCESS;
	}
	r = main_run(cfg, config_path);
	return r == MAIN_OUTCOME_BAD_LINE ? EXIT_CONFIG : r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
