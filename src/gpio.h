/* SPDX-License-Identifier: MIT */
#pragma once

/* GPIO access. libgpiod is used only in gpio.c; the integration tests link a test double with
 * this same interface in its place (tests/integration/gpio_double.c). Pins are indices into the
 * array given to gpio_open(); levels are logical (active_low already applied). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct gpio;

struct gpio_event {
	size_t pin;            /* index into the pins given to gpio_open() */
	bool active;           /* logical level after the edge */
	uint64_t timestamp_ns; /* kernel timestamp (CLOCK_MONOTONIC) */
	uint64_t lost;         /* edges the kernel dropped on this line just before this one */
	uint64_t seqno;        /* the kernel's sequence number of this edge on its line; 0 for a
				* level read after lost edges */
};

typedef void (*gpio_event_fn)(void *userdata, const struct gpio_event *event);

/* Finds and requests every pin: inputs with both-edge detection, bias, active-low and kernel
 * debounce; outputs with drive, active-low and their initial level in the request itself.
 * All or nothing: on failure no line stays requested, a message naming the pin (and the
 * consumer of a busy line) is written to ERR, and a negative errno is returned. Logs nothing. */
int gpio_open(struct gpio **out, const struct config_pin *pins, size_t n_pins,
	      const char *consumer, char *err, size_t err_size);
void gpio_close(struct gpio *gpio);

/* gpio2mqtt --check on the target: every pin's line looked up as gpio_open() would, without
 * requesting anything. FN(USERDATA, PIN, MESSAGE) for each line that does not exist (with the
 * closest line names on this machine, or its chips), and for each line another program holds
 * (a line held by a consumer called gpio2mqtt, the running service, is fine). *PROBLEMS counts
 * them. Returns 0, GPIO_CHECK_NO_CHIPS (nothing was checked: no GPIO chip here, e.g. checking
 * a file on another machine), or a negative errno. Logs nothing. */
enum gpio_check_outcome {
	GPIO_CHECK_NO_CHIPS = 1,
};
typedef void (*gpio_problem_fn)(void *userdata, size_t pin, const char *message);
int gpio_check(const struct config_pin *pins, size_t n_pins, gpio_problem_fn fn, void *userdata,
	       size_t *problems);

/* A reload: PINS (outliving the gpio object, as with gpio_open()) replace the pins. Every pin
 * has a line request of its own, so per line: a line kept with the same settings is untouched
 * (its level never moves); a line kept with other settings is reconfigured in place
 * (gpiod_line_request_reconfigure_lines(), an output at PINS[i].initial, which the caller sets
 * to its current level); a line no longer used is released; a new line is requested (an output
 * at PINS[i].initial). All or nothing: on failure everything is put back with the previous pins
 * (whose initial the caller also sets to the outputs' current levels), ERR says why, and a
 * negative errno is returned. The fds may change: read gpio_fd_count() and gpio_fd() again.
 * Logs nothing. */
int gpio_reload(struct gpio *gpio, const struct config_pin *pins, size_t n_pins,
		const char *consumer, char *err, size_t err_size);

/* File descriptors that become readable when edge events are pending. */
size_t gpio_fd_count(const struct gpio *gpio);
int gpio_fd(const struct gpio *gpio, size_t index);

/* Reads every pending event on FD (one of gpio_fd()) and calls FN for each, in order. When the
 * kernel reports lost edges on a line, the line is read after the events and, if its level
 * differs from the last event's, one more event with that level is reported, so the final state
 * is always the line's real level. Returns the number of events reported or a negative errno. */
int gpio_dispatch(struct gpio *gpio, int fd, gpio_event_fn fn, void *userdata);

int gpio_get(struct gpio *gpio, size_t pin, bool *active);
int gpio_set(struct gpio *gpio, size_t pin, bool active);
