/* SPDX-License-Identifier: MIT */
/* A pulse counter's logic (see meter.h). */
#include "meter.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define METER_NS_PER_S 1000000000ULL
#define METER_NS_PER_MS 1000000ULL

void meter_init(struct meter *m, uint64_t count)
{
	*m = (struct meter){ .count = count, .saved = count };
}

static void meter_dirty_mark(struct meter *m, uint64_t now_ns)
{
	if (!m->dirty_since_ns)
		m->dirty_since_ns = now_ns ? now_ns : 1;
}

bool meter_edge(struct meter *m, const struct meter_settings *s, bool active, uint64_t ts_ns)
{
	if (active == s->count_inactive)
		return false;
	if (m->count == UINT64_MAX)
		return false; /* 2^64 pulses: not in this universe, but never wrap to 0 */
	m->count++;
	if (m->last_pulse_ns && ts_ns > m->last_pulse_ns)
		m->interval_ns = ts_ns - m->last_pulse_ns;
	m->last_pulse_ns = ts_ns;
	meter_dirty_mark(m, ts_ns);
	return true;
}

void meter_lost(struct meter *m, uint64_t lost)
{
	m->edges_lost += lost;
}

void meter_set(struct meter *m, uint64_t count)
{
	m->count = count;
	m->interval_ns = 0;
	m->last_pulse_ns = 0;
	/* Saved and published at once by the caller; marked so that nothing is skipped. */
	meter_dirty_mark(m, 1);
}

double meter_rate(const struct meter *m, const struct meter_settings *s, uint64_t now_ns)
{
	uint64_t gap, span;
	double k;

	if (!m->interval_ns || !m->last_pulse_ns)
		return 0.0;
	gap = now_ns > m->last_pulse_ns ? now_ns - m->last_pulse_ns : 0;
	if (gap >= (uint64_t)s->rate_timeout_s * METER_NS_PER_S)
		return 0.0;
	span = gap > m->interval_ns ? gap : m->interval_ns;
	/* One pulse per second means K rate units. */
	k = (double)s->rate_scale * (double)s->rate_period_s / (double)s->pulses_per_unit;
	return k * (double)METER_NS_PER_S / (double)span;
}

bool meter_rate_due(const struct meter *m, const struct meter_settings *s, double rate,
		    uint64_t now_ns)
{
	double diff;

	if (!m->rate_published)
		return true;
	if (now_ns < m->rate_last_ns + (uint64_t)s->rate_interval_ms * METER_NS_PER_MS)
		return false;
	if (rate == m->rate_last)
		return false;
	if (rate == 0.0 || m->rate_last == 0.0)
		return true;
	diff = rate > m->rate_last ? rate - m->rate_last : m->rate_last - rate;
	return diff * 100.0 > (double)s->rate_threshold_pct * m->rate_last;
}

void meter_rate_published(struct meter *m, double rate, uint64_t now_ns)
{
	m->rate_published = true;
	m->rate_last = rate;
	m->rate_last_ns = now_ns;
}

bool meter_dirty(const struct meter *m)
{
	return m->dirty_since_ns != 0;
}

bool meter_save_due(const struct meter *m, const struct meter_settings *s, uint64_t now_ns)
{
	if (!meter_dirty(m))
		return false;
	if (m->count != m->saved && s->save_pulses &&
	    (m->count > m->saved ? m->count - m->saved : m->saved - m->count) >= s->save_pulses)
		return true;
	return now_ns >= m->dirty_since_ns + (uint64_t)s->save_interval_s * METER_NS_PER_S;
}

void meter_saved(struct meter *m, uint64_t count)
{
	m->saved = count;
	if (m->count == count)
		m->dirty_since_ns = 0;
}

uint64_t meter_next_deadline(const struct meter *m, const struct meter_settings *s,
			     uint64_t now_ns)
{
	uint64_t next = METER_NO_DEADLINE;
	uint64_t interval = (uint64_t)s->rate_interval_ms * METER_NS_PER_MS;
	/* A decaying rate is looked at no more than once a second: rate_interval_ms = 0 means
	 * "publish every change", not "wake up every millisecond". */
	uint64_t period = interval > METER_NS_PER_S ? interval : METER_NS_PER_S;

	if (meter_dirty(m))
		next = m->dirty_since_ns + (uint64_t)s->save_interval_s * METER_NS_PER_S;
	/* A rate that is not 0, or not what was published, moves (decays) without an edge. */
	if (m->rate_published &&
	    (m->rate_last != 0.0 || meter_rate(m, s, now_ns) != m->rate_last)) {
		uint64_t check = m->rate_last_ns + period;

		if (check <= now_ns)
			check = now_ns + period;
		if (check < next)
			next = check;
	}
	return next;
}

int meter_total_format(uint64_t count, const struct meter_settings *s, char *buf, size_t size)
{
	uint64_t units = count / s->pulses_per_unit, rem = count % s->pulses_per_unit;
	uint64_t scale = 1, frac;
	int n;

	for (unsigned int i = 0; i < s->precision; i++)
		scale *= 10;
	/* rem < 10^6 and scale <= 10^6: the product fits in 64 bits. */
	frac = rem * scale / s->pulses_per_unit;
	if (s->precision == 0)
		n = snprintf(buf, size, "%" PRIu64, units);
	else
		n = snprintf(buf, size, "%" PRIu64 ".%0*" PRIu64, units, (int)s->precision, frac);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int meter_rate_format(double rate, const struct meter_settings *s, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%.*f", (int)s->rate_precision, rate);

	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int meter_total_parse(const void *text, size_t len, const struct meter_settings *s,
		      uint64_t *count)
{
	const char *p = text, *end = p + len;
	uint64_t units = 0, frac = 0, scale = 1;
	bool digits = false;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (units > (UINT64_MAX - d) / 10)
			return -ERANGE;
		units = units * 10 + d;
		digits = true;
	}
	if (p < end && *p == '.') {
		p++;
		for (; p < end && isdigit((unsigned char)*p); p++) {
			if (scale == 1000000000ULL)
				return -EINVAL; /* more than 9 decimals */
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
			digits = true;
		}
	}
	if (p != end || !digits)
		return -EINVAL;
	if (units > UINT64_MAX / s->pulses_per_unit)
		return -ERANGE;
	units *= s->pulses_per_unit;
	/* frac < 10^9 and pulses_per_unit <= 10^6: fits in 64 bits. */
	frac = (frac * s->pulses_per_unit + scale / 2) / scale;
	if (units > UINT64_MAX - frac)
		return -ERANGE;
	*count = units + frac;
	return 0;
}
