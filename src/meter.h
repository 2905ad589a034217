/* SPDX-License-Identifier: MIT */
#pragma once

/* A pulse counter (an S0 electricity meter, a water or gas meter with a reed contact), pure:
 * edges with the kernel's timestamps and the time go in; what to count, what to publish and
 * when to save come out. No I/O, no clock (src/meters.c runs it).
 *
 * The count is a 64-bit integer of pulses, never a float: the total in units is formatted
 * from it with integer arithmetic (meter_total_format()). The rate (power, flow) is a
 * measurement and may be a double: K / interval, where interval is the time between the last
 * two pulses and K = rate_scale * rate_period_s / pulses_per_unit (the rate in rate units
 * that one pulse per second means). When pulses stop, the rate decays: after a gap G longer
 * than the last interval it is K / G, what one pulse now would mean, so it is never larger
 * than that; after rate_timeout_s without a pulse it is 0.
 *
 * Persistence: meter_save_due() says when the count must be written (every save_pulses
 * pulses, at most save_interval_s after the first unsaved pulse); the total is published
 * only as written (src/meters.c), so a SIGKILL never loses a published total. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METER_PRECISION_MAX 6
#define METER_NO_DEADLINE UINT64_MAX

struct meter_settings {
	bool count_inactive;        /* the edge to the inactive level counts (edge = "falling") */
	uint32_t pulses_per_unit;   /* 1..1000000 */
	unsigned int precision;     /* decimals of the total, 0..METER_PRECISION_MAX */
	uint32_t rate_scale;        /* the rate in units per rate_period_s, times this */
	uint32_t rate_period_s;     /* e.g. 3600: kWh per hour is kW; times 1000: W */
	unsigned int rate_precision; /* decimals of the rate */
	uint32_t rate_interval_ms;  /* at most one rate publish per this long */
	uint32_t rate_threshold_pct; /* ... and only when it changed by more than this percent */
	uint32_t rate_timeout_s;    /* no pulse for this long: the rate is 0 */
	uint32_t save_pulses;       /* save after this many unsaved pulses (0: only by time) */
	uint32_t save_interval_s;   /* save at most this long after the first unsaved pulse */
};

struct meter {
	uint64_t count;          /* pulses, all time (as restored, set or reset) */
	uint64_t saved;          /* the count last written (and so the one last published) */
	uint64_t last_pulse_ns;  /* kernel timestamp (CLOCK_MONOTONIC) of the last pulse; 0: none */
	uint64_t interval_ns;    /* between the last two pulses; 0: fewer than two since start */
	uint64_t dirty_since_ns; /* when the first unsaved pulse came; 0: nothing unsaved */
	bool rate_published;     /* a rate was published since start */
	double rate_last;        /* the rate last published */
	uint64_t rate_last_ns;   /* when */
	uint64_t edges_lost;     /* edges the kernel dropped on this line since start */
};

/* A meter starting at COUNT, which is what was saved. */
void meter_init(struct meter *m, uint64_t count);

/* An edge to level ACTIVE (logical, active_low applied) at TS_NS (kernel, monotonic). Returns
 * true when it is a pulse and was counted. */
bool meter_edge(struct meter *m, const struct meter_settings *s, bool active, uint64_t ts_ns);

/* The kernel reported LOST dropped edges before the last one: counted (a meter must say when
 * it may have missed pulses), the count is left alone. */
void meter_lost(struct meter *m, uint64_t lost);

/* The count set to COUNT (a meter exchange, a reset): it must be saved and published now; the
 * rate starts over. */
void meter_set(struct meter *m, uint64_t count);

/* The rate at NOW_NS (see the header comment). */
double meter_rate(const struct meter *m, const struct meter_settings *s, uint64_t now_ns);

/* Whether the rate RATE (meter_rate() at NOW_NS) is to be published now: the first one, or one
 * that differs from the last by more than rate_threshold_pct percent (and from 0 to anything
 * else, and back to 0), no sooner than rate_interval_ms after the last. */
bool meter_rate_due(const struct meter *m, const struct meter_settings *s, double rate,
		    uint64_t now_ns);
/* RATE was published at NOW_NS. */
void meter_rate_published(struct meter *m, double rate, uint64_t now_ns);

/* Whether the count must be saved at NOW_NS; meter_saved() once it was. */
bool meter_save_due(const struct meter *m, const struct meter_settings *s, uint64_t now_ns);
void meter_saved(struct meter *m, uint64_t count);
/* Whether anything is unsaved (a stop saves it). */
bool meter_dirty(const struct meter *m);

/* When meter_save_due() or meter_rate_due() may next become true without an edge (a save
 * deadline, the rate decaying), or METER_NO_DEADLINE. */
uint64_t meter_next_deadline(const struct meter *m, const struct meter_settings *s,
			     uint64_t now_ns);

/* The total of COUNT pulses in units with s->precision decimals, truncated (a meter shows
 * what it has reached): "12345.678". Returns 0 or -ENOSPC. */
int meter_total_format(uint64_t count, const struct meter_settings *s, char *buf, size_t size);
/* The rate with s->rate_precision decimals. Returns 0 or -ENOSPC. */
int meter_rate_format(double rate, const struct meter_settings *s, char *buf, size_t size);

/* A total in units ("12345.678", at most 9 decimals, surrounding whitespace ignored) as a
 * count of pulses, rounded to the nearest pulse. Returns 0, or -EINVAL (not a non-negative
 * decimal number) or -ERANGE (more pulses than 64 bits hold). */
int meter_total_parse(const void *text, size_t len, const struct meter_settings *s,
		      uint64_t *count);
