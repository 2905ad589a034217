/* SPDX-License-Identifier: MIT */
/* meter-floor: the floor a pulse counter is compared with (tests/bench/README.md, "Meters"): the
 * least a libgpiod v2 program must do to count pulses. It requests one line for both edges with
 * the daemon's kernel buffer (1024 events) and read batch (64), reads events until SIGTERM or
 * SIGINT, then prints one JSON object: events read, rising edges (the pulses), and edges the
 * kernel dropped (gaps in the line's sequence numbers).
 *
 *   meter-floor CHIPDEV OFFSET
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gpiod.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	unsigned int offset;
	struct gpiod_chip *chip;
	struct gpiod_line_settings *ls;
	struct gpiod_line_config *lc;
	struct gpiod_request_config *rc;
	struct gpiod_line_request *req;
	struct gpiod_edge_event_buffer *buf;
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long read = 0, rising = 0, lost = 0, last = 0;
	struct pollfd pfd;

	if (argc != 3) {
		fprintf(stderr, "usage: meter-floor CHIPDEV OFFSET\n");
		return 2;
	}
	offset = (unsigned int)atoi(argv[2]);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	chip = gpiod_chip_open(argv[1]);
	ls = gpiod_line_settings_new();
	lc = gpiod_line_config_new();
	rc = gpiod_request_config_new();
	buf = gpiod_edge_event_buffer_new(64);
	if (!chip || !ls || !lc || !rc || !buf) {
		perror("meter-floor");
		return 1;
	}
	gpiod_line_settings_set_direction(ls, GPIOD_LINE_DIRECTION_INPUT);
	gpiod_line_settings_set_edge_detection(ls, GPIOD_LINE_EDGE_BOTH);
	gpiod_line_config_add_line_settings(lc, &offset, 1, ls);
	gpiod_request_config_set_consumer(rc, "meter-floor");
	gpiod_request_config_set_event_buffer_size(rc, 1024);
	req = gpiod_chip_request_lines(chip, rc, lc);
	if (!req) {
		perror("meter-floor: request");
		return 1;
	}
	pfd = (struct pollfd){ .fd = gpiod_line_request_get_fd(req), .events = POLLIN };
	while (!stop) {
		int k;

		if (poll(&pfd, 1, -1) != 1)
			continue; /* EINTR: the signal */
		k = gpiod_line_request_read_edge_events(req, buf, 64);
		for (int i = 0; i < k; i++) {
			struct gpiod_edge_event *e = gpiod_edge_event_buffer_get_event(buf, (unsigned long)i);
			unsigned long s = gpiod_edge_event_get_line_seqno(e);

			if (s > last + 1)
				lost += s - last - 1;
			last = s;
			read++;
			rising += gpiod_edge_event_get_event_type(e) == GPIOD_EDGE_EVENT_RISING_EDGE;
		}
	}
	printf("{\"read\":%lu,\"rising\":%lu,\"lost\":%lu}\n", read, rising, lost);
	gpiod_line_request_release(req);
	gpiod_chip_close(chip);
	return 0;
}
